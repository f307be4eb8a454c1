import type { SerializedError } from '../errors';
import type { ShutdownReason } from '../events';
import type { ConnectionHandoff } from '../handoff';
import type { ListenerStats } from '../Listener';
import type { ConnectionInfo, WorkerStats } from '../Server';
import type { HandoffPlan, HandoffProgress } from './mover';

/** What a worker is doing before it is ready (reported while a start takes long). */
export type StartPhase = string;

/** Master -> worker messages over cluster IPC. */
export type ToWorker =
  /** With `handoff`, the connections that can move go to the replacement first (live handoff). */
  | { t: 'beyod:stop'; timeout: number; reason: ShutdownReason; handoff?: HandoffPlan }
  /** A connection moved from the previous process of this worker id; its socket comes with it. */
  | { t: 'beyod:adopt'; conn: ConnectionHandoff; fromPid: number }
  | { t: 'beyod:query'; id: number; what: 'stats' | 'connections' | 'phase' }
  | { t: 'beyod:synced'; id: number };

/** Worker -> master messages over cluster IPC. */
export type FromWorker =
  | { t: 'beyod:phase'; phase: StartPhase }
  /** `handoff`: the listeners that take moved connections (name -> Listener.handoffSignature()). */
  | { t: 'beyod:ready'; stats: WorkerStats; handoff: Record<string, string> }
  /** A connection moving to the replacement; its socket comes with it. */
  | { t: 'beyod:move'; conn: ConnectionHandoff }
  /** How the handoff goes (every half second while it runs, and when it is done). */
  | { t: 'beyod:handoff'; progress: HandoffProgress }
  | { t: 'beyod:start-failed'; error: SerializedError }
  /** Sent every second: the heartbeat, with the event loop's worst delay over that second. */
  | { t: 'beyod:stats'; stats: WorkerStats; lag: number }
  | { t: 'beyod:reply'; id: number; data: { stats: WorkerStats; lag: number } | ConnectionInfo[] | StartPhase }
  | { t: 'beyod:draining'; connections: number; timeout: number }
  | { t: 'beyod:sync'; id: number };

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string' && (m as { t: string }).t.startsWith('beyod:');
}

/** What `beyod status --json` prints. */
export interface StatusReport {
  id: string;
  serverId: number;
  singleProcess: boolean;
  master: { pid: number; startAt: number; uptime: number };
  /** The number of workers the master keeps (a reload applies a changed workerNum). */
  workerNum: number;
  /** True once a graceful stop has begun. */
  stopping: boolean;
  workers: WorkerStatus[];
  /**
   * Every worker process the master tracks, including a replacement still starting
   * (`incoming`) and old ones draining (`retiring`): during a reload a worker id is briefly
   * held by two processes, one of them on its way out.
   */
  processes: ProcessStatus[];
}

export interface WorkerStatus extends Pick<
  WorkerStats,
  'workerId' | 'pid' | 'gpid' | 'memory' | 'connections' | 'messagesIn' | 'messagesOut' | 'bytesIn' | 'bytesOut'
> {
  /** `unresponsive`: the worker's event loop has not answered for a while (see heartbeatTimeout). */
  state: 'starting' | 'ready' | 'unresponsive' | 'stopping' | 'down';
  uptime: number;
  respawns: number;
  /** Event-loop lag in ms: the worst delay over the last second, or how long it has been silent. */
  lag: number;
  /** Each listener's bound address and live connections. */
  listeners: Array<Pick<ListenerStats, 'name' | 'listen' | 'address' | 'connections'>>;
}

/** One worker process and its part in its worker id's life. */
export interface ProcessStatus {
  workerId: number;
  pid: number;
  role: 'current' | 'incoming' | 'retiring';
  /** While draining (retiring, or everything during a stop): its open connections. */
  connections: number;
  /**
   * A retiring process that hands its connections to its replacement (live handoff): how
   * many moved, how many stay and drain (by reason), whether it is done.
   */
  handoff?: HandoffProgress;
}

/** A worker's status line: who it is (from the master's table) and its latest figures. */
export function toWorkerStatus(
  who: Pick<WorkerStatus, 'workerId' | 'pid' | 'gpid' | 'state' | 'uptime' | 'respawns' | 'lag'>,
  st: WorkerStats | undefined,
): WorkerStatus {
  return {
    ...who,
    memory: st?.memory ?? 0,
    connections: st?.connections ?? 0,
    messagesIn: st?.messagesIn ?? 0,
    messagesOut: st?.messagesOut ?? 0,
    bytesIn: st?.bytesIn ?? 0,
    bytesOut: st?.bytesOut ?? 0,
    listeners: (st?.listeners ?? []).map(({ name, listen, address, connections }) => ({ name, listen, address, connections })),
  };
}
