import type { Socket } from 'node:net';
import type { ShutdownReason } from './events';

/*
 * Live handoff: on a reload (or a recycle) a retiring worker passes its idle connections to
 * the replacement with the same worker id, through the master: the socket itself (node IPC
 * passes the descriptor), the bytes received and not parsed yet, the parser's state, the
 * connection's id and counters, its JSON attributes, and what the protocol and the
 * application say about it (Handler.onHandoff / onAdopt). See docs/processes.md, "Live handoff".
 */

/**
 * What Parser.exportState() returns when the connection cannot move now (e.g. in the middle of
 * a packet whose state the parser cannot describe): it is asked again shortly, until
 * handoffTimeout; then the connection drains like any other.
 */
export const HANDOFF_LATER: unique symbol = Symbol('beyod.handoff.later');
/**
 * What Parser.exportState() returns when the connection can never move (e.g. a compression
 * context that lives in this process): it drains at once.
 */
export const HANDOFF_NEVER: unique symbol = Symbol('beyod.handoff.never');

/** Why a connection did not move (counted and logged by the retiring worker). */
export type StayReason =
  /** tls://: the TLS session lives in the process. */
  | 'tls'
  /** Its listener is not in the replacement's config, or changed (address, transport, parser), or has handoff off. */
  | 'listener'
  /** Still busy when handoffTimeout ran out: a request in flight, a partial packet, paused, output not written. */
  | 'busy'
  /** The parser or the handler refused it (HANDOFF_NEVER, event.refuse()). */
  | 'refused'
  /** onHandoff threw, or returned something that is not JSON. */
  | 'error';

/** A connection's counters (they move with it). */
export interface ConnectionCounters {
  messagesIn: number;
  messagesOut: number;
  messagesDropped: number;
  bytesIn: number;
  bytesOut: number;
}

/** One connection on its way to the replacement worker (the JSON that travels with the socket). */
export interface ConnectionHandoff extends ConnectionCounters {
  /** The listener's name (the replacement adopts it into its listener of that name). */
  listener: string;
  id: number;
  peer: string;
  transport: 'tcp' | 'unix';
  connectedAt: number;
  /** Bytes received and not parsed yet, base64 ('' when none). */
  unparsed: string;
  /** Parser.exportState(): the parser's state (null: none). */
  parser: unknown;
  /** What the protocol's beforeHandoff put in event.protocolState. */
  protocol: unknown;
  /** What the application's onHandoff returned. */
  app: unknown;
  /** The attributes whose values are JSON, as [key, value] pairs. */
  attributes: Array<[string, unknown]>;
  /** The armed deadline (setDeadline): ms left and its kind; null when none. */
  deadline: { in: number; kind: number } | null;
  /** Why the worker it leaves is going away. */
  reason: ShutdownReason;
}

/**
 * Whether `v` survives JSON as it is: null, booleans, finite numbers, strings, arrays and plain
 * objects of those (no Map, Date, Buffer, class instance, undefined, function, cycle).
 */
export function isJson(v: unknown, depth = 0): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v !== 'object' || depth > 64) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (!isJson(x, depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const x of Object.values(v as Record<string, unknown>)) if (!isJson(x, depth + 1)) return false;
  return true;
}

/** A net.Socket as node gives it: its libuv handle is not public API. */
type HandleSocket = Socket & { _handle?: { reading?: boolean; readStop?: () => number } | null };

/**
 * Stop the kernel-level reads of `socket` (not just the stream's flow): what the peer sends
 * from now on stays in the kernel's socket buffer, for the process the socket is passed to.
 *
 * `socket.pause()` only stops 'data' events: node's handle keeps reading into the stream's
 * buffer, and node's IPC, when it sends a socket, neither stops nor hands over what was read —
 * those bytes would be lost. No public API stops a live socket's handle (only `pauseOnConnect`,
 * at accept time), so this calls the handle's readStop() as net.Socket.pause() itself does for
 * its `onread` sockets. The zero-loss reload test (packages/cli/test/handoff.int.test.ts)
 * fails if a node release changes this.
 */
export function stopReading(socket: Socket): void {
  socket.pause();
  const handle = (socket as HandleSocket)._handle;
  if (handle && typeof handle.readStop === 'function') {
    handle.reading = false;
    handle.readStop();
  }
}
