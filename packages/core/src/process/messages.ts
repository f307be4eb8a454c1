import type { SerializedError } from '../errors';
import type { ConnectionInfo, WorkerStats } from '../Server';

/** Master -> worker messages over cluster IPC. */
export type ToWorker =
  | { t: 'beyod:stop'; timeout: number }
  | { t: 'beyod:query'; id: number; what: 'stats' | 'connections' }
  | { t: 'beyod:synced'; id: number };

/** Worker -> master messages over cluster IPC. */
export type FromWorker =
  | { t: 'beyod:ready'; stats: WorkerStats }
  | { t: 'beyod:start-failed'; error: SerializedError }
  | { t: 'beyod:stats'; stats: WorkerStats }
  | { t: 'beyod:reply'; id: number; data: WorkerStats | ConnectionInfo[] }
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
  workerNum: number;
  workers: WorkerStatus[];
}

export interface WorkerStatus {
  workerId: number;
  pid: number;
  gpid: number;
  state: 'starting' | 'ready' | 'stopping' | 'down';
  uptime: number;
  memory: number;
  connections: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  respawns: number;
  /** Each listener's bound address and live connections. */
  listeners: Array<{ name: string; listen: string; address: string | undefined; connections: number }>;
}
