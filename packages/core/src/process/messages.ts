import type { SerializedError } from '../errors';
import type { ListenerStats } from '../Listener';
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

export interface WorkerStatus extends Pick<
  WorkerStats,
  'workerId' | 'pid' | 'gpid' | 'memory' | 'connections' | 'messagesIn' | 'messagesOut' | 'bytesIn' | 'bytesOut'
> {
  state: 'starting' | 'ready' | 'stopping' | 'down';
  uptime: number;
  respawns: number;
  /** Each listener's bound address and live connections. */
  listeners: Array<Pick<ListenerStats, 'name' | 'listen' | 'address' | 'connections'>>;
}

/** A worker's status line: who it is (from the master's table) and its latest figures. */
export function toWorkerStatus(
  who: Pick<WorkerStatus, 'workerId' | 'pid' | 'gpid' | 'state' | 'uptime' | 'respawns'>,
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
