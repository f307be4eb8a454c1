import { SLOTS } from './slot';
import type { RespValue } from './types';

/** One node as CLUSTER SLOTS names it. */
export interface ClusterNode {
  /** "host:port" (IPv6 hosts in brackets). */
  addr: string;
  host: string;
  port: number;
}

/** Who serves which slots: `masters[slot]` is the master's address (undefined: nobody). */
export interface SlotMap {
  masters: Array<string | undefined>;
  /** Every node the map names, masters and replicas. */
  nodes: Map<string, ClusterNode>;
  /** Slots that have a master. */
  covered: number;
}

export function nodeAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function text(v: RespValue | undefined): string {
  return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString() : v === null || v === undefined ? '' : String(v);
}

/**
 * Read a CLUSTER SLOTS reply: `[[start, end, [host, port, id, ...], replica...], ...]`.
 * An empty host means "the node you asked" (`askedHost`); a host of "?" is unknown and skipped.
 */
export function parseClusterSlots(reply: RespValue, askedHost: string): SlotMap {
  const masters = new Array<string | undefined>(SLOTS).fill(undefined);
  const nodes = new Map<string, ClusterNode>();
  let covered = 0;
  if (!Array.isArray(reply)) return { masters, nodes, covered };
  for (const range of reply) {
    if (!Array.isArray(range) || range.length < 3) continue;
    const start = Number(range[0]);
    const end = Number(range[1]);
    let master: string | undefined;
    for (let i = 2; i < range.length; i++) {
      const n = range[i];
      if (!Array.isArray(n)) continue;
      let host = text(n[0]);
      const port = Number(n[1]);
      if (host === '?' || !Number.isInteger(port) || port <= 0) continue;
      if (host === '') host = askedHost;
      const addr = nodeAddr(host, port);
      nodes.set(addr, { addr, host, port });
      if (i === 2) master = addr;
    }
    if (master === undefined || !(start >= 0 && end < SLOTS && start <= end)) continue;
    for (let s = start; s <= end; s++) {
      if (masters[s] === undefined) covered++;
      masters[s] = master;
    }
  }
  return { masters, nodes, covered };
}
