import type { ConnectionInfo, StatusReport } from '@beyod/core';

/** 1536 -> "1.5 KB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** 93784000 ms -> "1d 2h", 65000 -> "1m 5s". */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${sec}s`;
  return `${sec}s`;
}

/** Render rows as aligned columns (numbers right-aligned). */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const width = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || /^[\d.]+( [KMGT]?B|%| ms)?$/.test(String(r[i]))),
  );
  return cells
    .map((r) =>
      r
        .map((c, i) => (numeric[i] ? (c ?? '').padStart(width[i]!) : (c ?? '').padEnd(width[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * The status table. The share column and bar show how connections spread over workers:
 * Node's scheduler can leave most of them on a few workers, and users need to see it.
 */
export function formatStatus(s: StatusReport): string {
  const total = s.workers.reduce((n, w) => n + w.connections, 0);
  const head =
    `beyod '${s.id}'  server ${s.serverId}  master pid ${s.master.pid}  up ${formatDuration(s.master.uptime)}` +
    `  ${s.workers.length} worker${s.workers.length === 1 ? '' : 's'}${s.singleProcess ? ' (single process)' : ''}`;
  const rows = s.workers.map((w) => {
    const share = total ? w.connections / total : 0;
    return [
      w.workerId,
      w.pid,
      w.gpid,
      w.state,
      formatDuration(w.uptime),
      formatBytes(w.memory),
      w.connections,
      `${Math.round(share * 100)}%`,
      bar(share),
      w.messagesIn,
      w.messagesOut,
      `${w.lag ?? 0} ms`,
      w.respawns,
    ];
  });
  const t = table(
    ['worker', 'pid', 'gpid', 'state', 'uptime', 'memory', 'conns', 'share', '', 'msgs in', 'msgs out', 'lag', 'respawns'],
    rows,
  );
  const sum = (k: 'messagesIn' | 'messagesOut') => s.workers.reduce((n, w) => n + w[k], 0);
  const listeners = formatListeners(s);
  const others = (s.processes ?? []).filter((p) => p.role !== 'current');
  const extra = others.length
    ? `\n${others.map((p) => `worker ${p.workerId}: pid ${p.pid} ${p.role === 'retiring' ? `retiring (${p.connections} connections left)` : 'starting (replacement)'}`).join('\n')}`
    : '';
  const stopping = s.stopping ? '\nstopping: workers are draining' : '';
  return `${head}\n\n${listeners ? `${listeners}\n\n` : ''}${t}\n\ntotal: ${total} connections, ${sum('messagesIn')} messages in, ${sum('messagesOut')} out${extra}${stopping}`;
}

/**
 * Each listener once: its configured URL, the address it is bound to (a port 0 shows the port
 * it got), how many workers serve it and its connections over all of them (Workerman's
 * `listen` column).
 */
export function formatListeners(s: StatusReport): string {
  const byName = new Map<string, { listen: string; addresses: Set<string>; workers: number; connections: number }>();
  for (const w of s.workers) {
    for (const l of w.listeners) {
      const e = byName.get(l.name) ?? { listen: l.listen, addresses: new Set<string>(), workers: 0, connections: 0 };
      if (l.address) e.addresses.add(l.address);
      e.workers++;
      e.connections += l.connections;
      byName.set(l.name, e);
    }
  }
  if (byName.size === 0) return '';
  const rows = [...byName].map(([name, e]) => [name, e.listen, [...e.addresses].join(', ') || '-', e.workers, e.connections]);
  return table(['listener', 'listen', 'address', 'workers', 'conns'], rows);
}

function bar(share: number, width = 10): string {
  const n = Math.round(share * width);
  return '#'.repeat(n) + '.'.repeat(width - n);
}

export function formatConnections(list: ConnectionInfo[]): string {
  if (list.length === 0) return 'no connections';
  const rows = [...list]
    .sort((a, b) => a.workerId - b.workerId || a.id - b.id)
    .map((c) => [
      c.workerId,
      c.listener,
      c.id,
      c.peer,
      c.protocol,
      formatBytes(c.bytesIn),
      formatBytes(c.bytesOut),
      c.messagesIn,
      c.messagesOut,
      formatDuration(c.age),
    ]);
  return `${table(['worker', 'listener', 'conn', 'peer', 'protocol', 'in', 'out', 'msgs in', 'msgs out', 'age'], rows)}\n\n${list.length} connection${list.length === 1 ? '' : 's'}`;
}
