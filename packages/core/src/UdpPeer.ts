import type { Endpoint } from './events';
import type { Listener } from './Listener';

let nextId = 0;

/** The sender of a UDP datagram: send() answers it through the listener's socket. */
export class UdpPeer implements Endpoint {
  readonly id = ++nextId;
  readonly transport = 'udp' as const;
  readonly peer: string;
  parserState: unknown = undefined;
  private attrs: Map<string, unknown> | undefined;

  constructor(
    readonly listener: Listener,
    readonly address: string,
    readonly port: number,
  ) {
    this.peer = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  }

  get attributes(): Map<string, unknown> {
    return (this.attrs ??= new Map());
  }

  send(message: unknown, raw = false): boolean {
    const data = raw ? (message as Buffer | string) : this.listener.parserInstance.encode(message, this);
    return this.listener._sendTo(data, this.port, this.address);
  }

  /** A datagram is sent at once or not at all: same as send(). */
  trySend(message: unknown, raw = false): boolean {
    return this.send(message, raw);
  }

  /** Datagrams have no send buffer. */
  get isFull(): boolean {
    return false;
  }

  /** Datagrams have no connection: no deadline either. */
  setDeadline(_ms: number, _kind?: number): void {}
  clearDeadline(): void {}

  /** Datagrams have no connection to close; this sends `message` if given. */
  close(message?: unknown): void {
    if (message !== undefined) this.send(message);
  }
}
