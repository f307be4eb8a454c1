import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { BeyodError, ErrorCodes, badPacketError, toError } from './errors';
import { ErrorEvent, MessageEvent, UdpPacketEvent } from './events';
import { Handler } from './Handler';
import type { Listener } from './Listener';
import type { SocketAddress } from './url';
import { UdpPeer } from './UdpPeer';

/** Datagram counters of a UDP listener (datagrams have no connection to keep them). */
export interface UdpCounters {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * The datagram side of a Listener whose URL is udp://host:port: one socket; each datagram is
 * one message, framed by the listener's parser (input() must take the whole datagram) and
 * given to its handler with a UdpPeer as sender (send() answers it). The Listener keeps the
 * options, the handler and parser, the stats and start/stop; this class does the datagrams.
 */
export class UdpListener {
  private socket: dgram.Socket | null = null;

  /** @param counters where datagrams are counted (the listener's: they outlive this socket) */
  constructor(
    private readonly owner: Listener,
    readonly counters: UdpCounters = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 },
  ) {}

  /** Bind; resolves with the bound address, rejects with the socket's error (EADDRINUSE...). */
  bind(addr: SocketAddress): Promise<{ port: number; address: string }> {
    const type = net.isIPv6(addr.host) ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type, reuseAddr: false });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    return new Promise((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException) => {
        this.socket = null;
        reject(err);
      };
      socket.once('error', fail);
      socket.bind({ address: addr.host, port: addr.port }, () => {
        socket.off('error', fail);
        socket.on('error', (err) => this.owner.logger.error({ listener: this.owner.name, err }, 'udp socket error'));
        const a = socket.address();
        resolve({ port: a.port, address: a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}` });
      });
    });
  }

  /** Close the socket: no more datagrams. */
  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** Send a datagram (a UdpPeer's send()); false when the socket is closed. */
  sendTo(data: Buffer | string | ReadonlyArray<Buffer | string>, port: number, host: string): boolean {
    if (!this.socket) return false;
    const buf =
      typeof data === 'string'
        ? Buffer.from(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.concat(data.map((d) => (typeof d === 'string' ? Buffer.from(d) : d)));
    this.counters.messagesOut++;
    this.counters.bytesOut += buf.length;
    this.socket.send(buf, port, host);
    return true;
  }

  private onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const owner = this.owner;
    const peer = new UdpPeer(owner, rinfo.address, rinfo.port);
    this.counters.bytesIn += msg.length;
    const handler = owner.handlerInstance;
    const parser = owner.parserInstance;
    try {
      if (handler.onUdpPacket !== Handler.prototype.onUdpPacket) {
        const r = handler.onUdpPacket(new UdpPacketEvent(peer, msg));
        if (r === false) return;
      }
      const max = parser.maxPacketSize;
      if (max > 0 && msg.length > max) {
        throw new BeyodError(
          ErrorCodes.PACKET_TOO_LARGE,
          `datagram of ${msg.length} bytes exceeds maxPacketSize ${max} (from ${peer.peer})`,
          { size: msg.length, maxPacketSize: max, peer: peer.peer },
        );
      }
      let n: number;
      try {
        n = msg.length === 0 ? 0 : parser.input(msg, peer);
      } catch (e) {
        throw badPacketError(e);
      }
      if (n !== msg.length)
        throw new BeyodError(
          ErrorCodes.BAD_PACKET,
          `bad datagram from ${peer.peer}: parser input() returned ${n} for ${msg.length} bytes`,
          { peer: peer.peer },
        );
      let message: unknown;
      try {
        message = parser.decode(msg, peer);
      } catch (e) {
        throw badPacketError(e);
      }
      this.counters.messagesIn++;
      const r = handler.onMessage(new MessageEvent(peer, message));
      if (r && typeof (r as Promise<void>).then === 'function')
        (r as Promise<void>).then(undefined, (e: unknown) => this.handlerFailed(peer, e));
    } catch (e) {
      if (e instanceof BeyodError && (e.code === ErrorCodes.BAD_PACKET || e.code === ErrorCodes.PACKET_TOO_LARGE)) {
        owner.countBadPacket();
        owner.logger.warn({ listener: owner.name, peer: peer.peer, code: e.code, err: e.message }, 'bad datagram dropped');
        owner._callHandler('onBadPacket', new ErrorEvent(peer, e));
      } else {
        this.handlerFailed(peer, e);
      }
    }
  }

  private handlerFailed(peer: UdpPeer, e: unknown): void {
    const cause = toError(e);
    this.owner.logger.error({ listener: this.owner.name, peer: peer.peer, err: cause }, 'udp handler failed');
    this.owner._callHandler(
      'onError',
      new ErrorEvent(peer, new BeyodError(ErrorCodes.HANDLER_FAILED, cause.message, undefined, { cause })),
    );
  }
}
