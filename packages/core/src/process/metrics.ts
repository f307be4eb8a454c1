import type { ListenerStats } from '../Listener';
import type { WorkerStats } from '../Server';
import type { Proc } from './slots';

/** The per-listener figures that only grow in a process (Prometheus counters). */
const COUNTERS = ['accepted', 'rejected', 'badPackets', 'messagesIn', 'messagesOut', 'dropped', 'bytesIn', 'bytesOut'] as const;
type Counter = (typeof COUNTERS)[number];
export type Counts = Record<Counter, number>;

const zero = (): Counts => ({
  accepted: 0,
  rejected: 0,
  badPackets: 0,
  messagesIn: 0,
  messagesOut: 0,
  dropped: 0,
  bytesIn: 0,
  bytesOut: 0,
});

/** One worker id's figures for one listener. */
export interface ListenerSeries {
  workerId: number;
  listener: string;
  counts: Counts;
  /** Open now, over every live process of that worker id (a retiring one still holds some). */
  connections: number;
}

/**
 * Counters that survive reloads and respawns. A worker's figures restart from zero in each new
 * process; Prometheus would take every replacement for a reset and lose what the old process
 * did after its last scrape. So per worker id and listener the master keeps what exited
 * processes counted (their last report: a stopping worker sends one after its drain) and adds
 * the live processes' figures. Each live figure is a high-water mark: a report can never make
 * a counter go back.
 */
export class MetricsTracker {
  private readonly live = new Map<Proc, Map<string, { counts: Counts; connections: number }>>();
  private readonly carried = new Map<number, Map<string, Counts>>();
  /** Rolling reloads done, and stopped part-way. */
  reloads = 0;
  reloadFailures = 0;
  /** Worker id -> replacements for maxRequests / maxMemory. */
  readonly recycles = new Map<number, number>();

  /** A report from `proc` (its heartbeat, its ready message, an answer to a query). */
  onStats(proc: Proc, stats: WorkerStats): void {
    let mine = this.live.get(proc);
    if (!mine) this.live.set(proc, (mine = new Map()));
    for (const l of stats.listeners) {
      let e = mine.get(l.name);
      if (!e) mine.set(l.name, (e = { counts: zero(), connections: 0 }));
      for (const k of COUNTERS) e.counts[k] = Math.max(e.counts[k], l[k as keyof ListenerStats] as number);
      e.connections = l.connections;
    }
  }

  /** `proc` exited: what it counted is carried over to its worker id. */
  onExit(proc: Proc): void {
    const mine = this.live.get(proc);
    this.live.delete(proc);
    if (!mine) return;
    let into = this.carried.get(proc.slotId);
    if (!into) this.carried.set(proc.slotId, (into = new Map()));
    for (const [name, e] of mine) {
      const c = into.get(name) ?? zero();
      for (const k of COUNTERS) c[k] += e.counts[k];
      into.set(name, c);
    }
  }

  onRecycle(workerId: number): void {
    this.recycles.set(workerId, (this.recycles.get(workerId) ?? 0) + 1);
  }

  /** Every (worker id, listener) seen since the master started, sorted. */
  series(): ListenerSeries[] {
    const out = new Map<string, ListenerSeries>();
    const get = (workerId: number, listener: string) => {
      const key = `${workerId}\0${listener}`;
      let s = out.get(key);
      if (!s) out.set(key, (s = { workerId, listener, counts: zero(), connections: 0 }));
      return s;
    };
    for (const [workerId, byName] of this.carried) {
      for (const [name, c] of byName) {
        const s = get(workerId, name);
        for (const k of COUNTERS) s.counts[k] += c[k];
      }
    }
    for (const [proc, byName] of this.live) {
      for (const [name, e] of byName) {
        const s = get(proc.slotId, name);
        for (const k of COUNTERS) s.counts[k] += e.counts[k];
        s.connections += e.connections;
      }
    }
    return [...out.values()].sort((a, b) => a.workerId - b.workerId || (a.listener < b.listener ? -1 : 1));
  }
}

/** What the exposition is made from (the master fills it from its tables). */
export interface MetricsView {
  id: string;
  serverId: number;
  version: string;
  startAt: number;
  memory: number;
  workerNum: number;
  workers: Array<{ workerId: number; ready: boolean; startAt: number; memory: number; lag: number; respawns: number }>;
  tracker: MetricsTracker;
}

type Family = { name: string; type: 'counter' | 'gauge'; help: string; samples: Array<[Record<string, string | number>, number]> };

/** The Prometheus text exposition format (version 0.0.4) of `v`. */
export function renderMetrics(v: MetricsView): string {
  const fams: Family[] = [];
  const fam = (name: string, type: Family['type'], help: string, samples: Family['samples']) => fams.push({ name, type, help, samples });
  const series = v.tracker.series();
  const per = (k: Counter): Family['samples'] => series.map((s) => [{ worker: s.workerId, listener: s.listener }, s.counts[k]]);
  const byWorker = (f: (w: MetricsView['workers'][number]) => number): Family['samples'] =>
    v.workers.map((w) => [{ worker: w.workerId }, f(w)]);
  fam('beyod_info', 'gauge', 'The application: its id, server id and beyod version (always 1).', [
    [{ app: v.id, server_id: v.serverId, version: v.version }, 1],
  ]);
  fam('beyod_master_start_time_seconds', 'gauge', 'When the master started, in seconds since the epoch.', [[{}, v.startAt / 1000]]);
  fam('beyod_master_resident_memory_bytes', 'gauge', "The master's resident memory.", [[{}, v.memory]]);
  fam('beyod_workers', 'gauge', 'Workers the master keeps (workerNum).', [[{}, v.workerNum]]);
  fam(
    'beyod_worker_ready',
    'gauge',
    '1 when the worker accepts and answers its heartbeat, else 0.',
    byWorker((w) => (w.ready ? 1 : 0)),
  );
  fam(
    'beyod_worker_start_time_seconds',
    'gauge',
    "When the worker's current process started.",
    byWorker((w) => w.startAt / 1000),
  );
  fam(
    'beyod_worker_resident_memory_bytes',
    'gauge',
    "The worker's resident memory (its last report).",
    byWorker((w) => w.memory),
  );
  fam(
    'beyod_worker_event_loop_lag_seconds',
    'gauge',
    "The worst delay of the worker's event loop over the last second.",
    byWorker((w) => w.lag / 1000),
  );
  fam(
    'beyod_worker_respawns_total',
    'counter',
    'Times the worker was re-forked after it died.',
    byWorker((w) => w.respawns),
  );
  fam(
    'beyod_worker_recycles_total',
    'counter',
    'Times the worker was replaced for maxRequests or maxMemory.',
    byWorker((w) => v.tracker.recycles.get(w.workerId) ?? 0),
  );
  fam('beyod_reloads_total', 'counter', 'Rolling reloads done.', [[{}, v.tracker.reloads]]);
  fam('beyod_reload_failures_total', 'counter', 'Rolling reloads that stopped part-way (or were refused).', [
    [{}, v.tracker.reloadFailures],
  ]);
  fam(
    'beyod_connections',
    'gauge',
    'Open connections.',
    series.map((s) => [{ worker: s.workerId, listener: s.listener }, s.connections]),
  );
  fam('beyod_connections_accepted_total', 'counter', 'Connections accepted.', per('accepted'));
  fam('beyod_connections_rejected_total', 'counter', 'Connections closed at once (maxConnections, out of descriptors).', per('rejected'));
  fam('beyod_messages_received_total', 'counter', 'Messages decoded and given to the handler.', per('messagesIn'));
  fam('beyod_messages_sent_total', 'counter', 'Messages sent.', per('messagesOut'));
  fam('beyod_messages_dropped_total', 'counter', 'Messages dropped on a full send buffer (the drop send policy).', per('dropped'));
  fam('beyod_bad_packets_total', 'counter', 'Bad packets (the connection was closed).', per('badPackets'));
  fam('beyod_received_bytes_total', 'counter', 'Bytes received.', per('bytesIn'));
  fam('beyod_sent_bytes_total', 'counter', 'Bytes sent.', per('bytesOut'));
  let out = '';
  for (const f of fams) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
    for (const [labels, value] of f.samples) out += `${f.name}${labelText(labels)} ${formatValue(value)}\n`;
  }
  return out;
}

function labelText(labels: Record<string, string | number>): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`,
  );
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatValue(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
}
