import type { Worker } from 'node:cluster';
import type { BeyodError } from '../errors';
import type { ShutdownReason } from '../events';
import type { WorkerStats } from '../Server';
import type { StartPhase } from './messages';

/* The supervisor's table: one slot per worker id, one Proc per worker process. */

/** How the supervisor forks workers. */
export interface ForkOptions {
  /** The script a worker runs (it calls runWorker). */
  exec: string;
  args?: string[];
  execArgv?: string[];
  /** Extra environment for workers. */
  env?: Record<string, string>;
  /**
   * Where workers' output goes: their log records, stdout and stderr come through pipes and
   * are written here (see collectWorkerOutput). Unset: workers share the master's stdout.
   */
  output?: { write(lines: string): void; reopen?(): void; readonly file?: string };
}

/** One worker process, from fork to exit. */
export interface Proc {
  readonly worker: Worker;
  readonly pid: number;
  readonly slotId: number;
  /** current: serves its id; incoming: its replacement, starting; retiring: stopping. */
  role: 'current' | 'incoming' | 'retiring';
  ready: boolean;
  readonly forkedAt: number;
  readyAt: number;
  /** Last message from its event loop (the heartbeat). */
  lastSeen: number;
  /** Worst event-loop delay over the last second, in ms, as the worker measured it. */
  lag: number;
  unresponsive: boolean;
  stats: WorkerStats | undefined;
  phase: StartPhase;
  /** A maxRequests / maxMemory replacement is under way. */
  limitHit: boolean;
  /** While it drains: its open connections. */
  draining: number | undefined;
  /** Resolves once it reports ready; rejects if it fails first. */
  readonly settled: Promise<Proc>;
  /** Why it is being replaced, told to its predecessor when it takes over. */
  replaces: ShutdownReason;
  onReady?: (error?: BeyodError) => void;
  failure?: BeyodError;
  readonly pending: Map<number, (data: unknown) => void>;
  timers: NodeJS.Timeout[];
}

/** One worker id: the process serving it, and at most one replacement starting. */
export interface Slot {
  readonly id: number;
  current: Proc | null;
  incoming: Proc | null;
  respawns: number;
  /** Consecutive deaths right after start (crash loop). */
  fastFailures: number;
  retryTimer: NodeJS.Timeout | undefined;
}

export function describeExit(code: number | null, signal: string | null): string {
  return signal ? `signal ${signal}` : `exit code ${code ?? '?'}`;
}
