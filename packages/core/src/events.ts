import type { Listener } from './Listener';

/**
 * What a parser and a handler see of the other side: a server-side Connection, a StreamClient,
 * or a UDP peer. `parserState` is reserved for the parser's per-connection state.
 */
export interface Endpoint {
  readonly id: number;
  /** "ip:port" of the other side (or the socket path for unix sockets). */
  readonly peer: string;
  /** tcp, tls, unix or udp. */
  readonly transport: Transport;
  /** Free slot for the parser's per-connection state. */
  parserState: unknown;
  /** Application data attached to this connection. */
  readonly attributes: Map<string, unknown>;
  /** Encode and send a message; false when the send buffer is full (see the parser's sendPolicy). */
  send(message: unknown, raw?: boolean): boolean;
  /** Send unless the send buffer is full; a message that does not fit is dropped (counted). */
  trySend(message: unknown, raw?: boolean): boolean;
  /** True while the send buffer is over maxSendBuffer (until it drains). */
  readonly isFull: boolean;
  /** Close (after sending `message` if given). */
  close(message?: unknown): void;
  /**
   * Arm the connection's one deadline `ms` from now, tagged `kind`; it replaces the one armed
   * before. When it passes: the parser's onDeadline, or else the handler's. No-op over UDP.
   */
  setDeadline(ms: number, kind?: number): void;
  /** Disarm the deadline. */
  clearDeadline(): void;
}

export type Transport = 'tcp' | 'tls' | 'unix' | 'udp';

/** onConnect, onBufferFull, onBufferDrain, onTlsHandshake. */
export class IOEvent<S extends Endpoint = Endpoint> {
  constructor(readonly sender: S) {}
}

/** onMessage: `message` is what the parser decoded. */
export class MessageEvent<M = unknown, S extends Endpoint = Endpoint> {
  constructor(
    readonly sender: S,
    readonly message: M,
  ) {}
}

/** onUdpPacket: a datagram before it is parsed; return false from the handler to drop it. */
export class UdpPacketEvent<S extends Endpoint = Endpoint> {
  constructor(
    readonly sender: S,
    readonly packet: Buffer,
  ) {}
}

/** onDeadline: the connection's deadline (setDeadline) passed; `kind` is the tag it was armed with. */
export class DeadlineEvent<S extends Endpoint = Endpoint> {
  constructor(
    readonly sender: S,
    readonly kind: number,
  ) {}
}

/** onClose: why the connection ended. */
export class CloseEvent<S extends Endpoint = Endpoint> {
  constructor(
    readonly sender: S,
    /** 'peer' (the other side closed), 'local' (close() was called), 'error', 'idle', 'bad-packet', 'shutdown'. */
    readonly reason: CloseReason,
    readonly error?: Error,
  ) {}
}

export type CloseReason = 'peer' | 'local' | 'error' | 'idle' | 'bad-packet' | 'shutdown' | 'max-connections';

/** onError and onBadPacket: `error.code` says what went wrong. */
export class ErrorEvent<S extends Endpoint = Endpoint> {
  constructor(
    readonly sender: S,
    readonly error: Error & { code?: string },
  ) {}
}

/**
 * Why a worker is going away: `stop` (the server stops), `reload` (a rolling reload replaces
 * it), `recycle` (maxRequests / maxMemory), `scale` (a reload lowered workerNum).
 */
export type ShutdownReason = 'stop' | 'reload' | 'recycle' | 'scale';

/**
 * onShutdown: the worker has stopped accepting and will close this connection after `timeout`
 * seconds (at `deadline`, ms since epoch) unless it closes first. Tell the peer now (a
 * WebSocket sends 1001 "going away", a protocol with a GOAWAY sends it), then finish or close.
 */
export class ShutdownEvent<S extends Endpoint = Endpoint> {
  constructor(
    readonly sender: S,
    readonly reason: ShutdownReason,
    /** Seconds the worker waits for its connections to close before it closes them. */
    readonly timeout: number,
    readonly deadline: number,
  ) {}
}

/** onStartAccept, onStopAccept. */
export class ListenerEvent {
  constructor(readonly listener: Listener) {}
}

/**
 * onHandoff: on a reload or recycle, this connection is about to move to the replacement
 * worker (live handoff, see docs/processes.md). Return its application state as JSON; onAdopt
 * gets it there. Call `defer()` when it cannot move yet (asked again shortly, until
 * handoffTimeout), `refuse()` when it must stay (it then drains like at a stop).
 */
export class HandoffEvent<S extends Endpoint = Endpoint> {
  /**
   * The protocol's own state for this connection (set by a protocol's beforeHandoff, as JSON);
   * its beforeAdopt gets it back as AdoptEvent.protocolState.
   */
  protocolState: unknown = null;
  /** @internal */
  _verdict: 0 | 1 | 2 = 0;

  constructor(
    readonly sender: S,
    /** Why this worker goes away: 'reload' or 'recycle'. */
    readonly reason: ShutdownReason,
  ) {}

  /** Not now (a request in flight, a message half received): ask again shortly. */
  defer(): void {
    if (this._verdict === 0) this._verdict = 1;
  }

  /** This connection stays here and drains (onShutdown, then closed at stopTimeout). */
  refuse(): void {
    this._verdict = 2;
  }
}

/**
 * onAdopt: a connection moved here from the previous process of this worker id. Its id,
 * counters, JSON attributes and parser state are already restored; `state` is what onHandoff
 * returned there. Bytes it had received and not yet parsed are parsed right after this.
 */
export class AdoptEvent<S extends Endpoint = Endpoint> {
  constructor(
    readonly sender: S,
    /** What the application's onHandoff returned in the old process. */
    readonly state: unknown,
    /** What the protocol's beforeHandoff put in HandoffEvent.protocolState. */
    readonly protocolState: unknown,
    /** The pid of the process it came from. */
    readonly fromPid: number,
    readonly reason: ShutdownReason,
  ) {}
}
