import type { Socket } from 'node:net';
import type { Connection } from '../Connection';
import type { ShutdownReason } from '../events';
import type { ConnectionHandoff, StayReason } from '../handoff';
import type { Listener } from '../Listener';
import type { Logger } from '../logger';

/** What the master tells a retiring worker whose connections may move (live handoff). */
export interface HandoffPlan {
  /** The replacement's listeners that take connections: name -> Listener.handoffSignature(). */
  listeners: Record<string, string>;
  /** Seconds to keep trying a busy connection before it drains instead (handoffTimeout). */
  timeout: number;
}

/** How a retiring worker's handoff went (reported to the master; `beyod status` shows it). */
export interface HandoffProgress {
  /** Connections passed on to the replacement. */
  moved: number;
  /** Connections that stay and drain, by reason. */
  stayed: Partial<Record<StayReason, number>>;
  /** Moved, but lost on the way (the channel to the master closed, the peer reset meanwhile). */
  lost: number;
  /** The handoff is over (what stays is draining). */
  done: boolean;
  ms: number;
}

/** Pass one moved connection on (to the master); resolves once it is written to the channel. */
export type Transmit = (record: ConnectionHandoff, socket: Socket) => Promise<boolean>;

/** Pause between two passes over the connections that could not move yet. */
const RETRY_MS = 5;
const EMPTY = Buffer.alloc(0);

export function newProgress(): HandoffProgress {
  return { moved: 0, stayed: {}, lost: 0, done: false, ms: 0 };
}

/** Connections that stay, all reasons together. */
export function stayingOf(p: HandoffProgress): number {
  return Object.values(p.stayed).reduce((n, k) => n + (k ?? 0), 0);
}

/**
 * Move the connections of `listeners` that can move to the replacement worker. A pass tries
 * each connection (Connection._handoff): those that are idle go at once — the whole pass is
 * synchronous, so no application code runs between a connection's last send here and its
 * departure; those that are busy are tried again every few ms until `plan.timeout`; the rest
 * stay and drain. Resolves once every moved socket is written to the master's channel.
 * `progress` is filled in as it goes (the worker reports it).
 */
export async function moveConnections(
  listeners: Listener[],
  plan: HandoffPlan,
  reason: ShutdownReason,
  transmit: Transmit,
  log: Logger,
  progress: HandoffProgress = newProgress(),
): Promise<HandoffProgress> {
  const started = Date.now();
  const until = started + plan.timeout * 1000;
  const stay = (why: StayReason, n = 1) => {
    if (n > 0) progress.stayed[why] = (progress.stayed[why] ?? 0) + n;
  };
  const movable: Listener[] = [];
  for (const l of listeners) {
    const sig = l.handoffSignature();
    if (sig !== undefined && plan.listeners[l.name] === sig) movable.push(l);
    else stay(l.transport === 'tls' ? 'tls' : 'listener', l.connections.size);
  }
  const staying = new WeakSet<Connection>();
  const errors = new Map<string, number>();
  const sends: Array<Promise<void>> = [];
  const send = async (record: ConnectionHandoff, socket: Socket, writing: boolean): Promise<void> => {
    const ok =
      (!writing || (await writtenOut(socket, Math.max(1000, plan.timeout * 1000)))) && (await transmit(record, socket).catch(() => false));
    if (!ok) {
      progress.lost++;
      socket.destroy();
    }
  };
  for (;;) {
    let later = 0;
    for (const l of movable) {
      for (const conn of [...l.connections.values()]) {
        if (staying.has(conn)) continue;
        const r = conn._handoff(reason);
        if (r === 'later') {
          later++;
        } else if ('stay' in r) {
          staying.add(conn);
          stay(r.stay);
          if (r.error !== undefined) {
            const n = errors.get(r.error.message) ?? 0;
            errors.set(r.error.message, n + 1);
            if (n === 0)
              log.error({ listener: l.name, conn: conn.id, err: r.error.message }, 'a connection cannot move; it drains instead');
          }
        } else {
          progress.moved++;
          sends.push(send(r.record, r.socket, r.writing));
        }
      }
    }
    if (later === 0 || Date.now() >= until) {
      stay('busy', later);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  for (const [message, n] of errors) if (n > 1) log.error({ count: n, err: message }, `${n} connections cannot move: ${message}`);
  await Promise.all(sends);
  progress.ms = Date.now() - started;
  progress.done = true;
  return progress;
}

/**
 * Resolves true once everything written to `socket` so far has reached the kernel; false if
 * that fails or takes over `ms` (a peer that does not read: it is cut off, as a drain would).
 */
function writtenOut(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.write(EMPTY, (err) => {
      clearTimeout(timer);
      resolve(!err);
    });
  });
}
