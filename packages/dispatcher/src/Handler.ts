import { createHash, timingSafeEqual } from 'node:crypto';
import {
  Handler as BaseHandler,
  type CloseEvent,
  type Connection,
  ConfigError,
  type ErrorEvent,
  ErrorCodes,
  type IOEvent,
  type MessageEvent,
} from '@beyod/core';
import { WireCodes } from './errors';
import { BadBody, type Packet, encodeJson, encodePacket } from './Parser';
import { ChannelStore, type Key, type Subscriber } from './store/ChannelStore';
import { HashStore } from './store/HashStore';
import { type QueueItem, QueueStore, type Waiter } from './store/QueueStore';
import { WireError, keyList, keyName, numberField, requiredValue, singleKey, validSeq } from './wire';

/** One connected client of the dispatcher. */
class ClientState implements Subscriber {
  readonly channels = new Map<string, Key>();
  readonly blocked = new Set<BlockedPop>();
  /** Its send buffer is over maxSendBuffer: deliveries skip it, and reading is paused. */
  full = false;
  /** JSON of its peer address, the `source` of what it publishes. */
  readonly source: string;

  constructor(
    readonly conn: Connection,
    public authed: boolean,
  ) {
    this.source = JSON.stringify(conn.peer);
  }
}

/** A qpop with block: true waiting for an item. */
class BlockedPop implements Waiter {
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly key: string,
    readonly state: ClientState,
    readonly request: Packet,
    private readonly done: (w: BlockedPop, item: QueueItem | undefined) => void,
  ) {}

  ready(): boolean {
    return !this.state.full;
  }

  deliver(item: QueueItem): void {
    this.done(this, item);
  }
}

/**
 * The dispatcher server: pub/sub channels, a shared hash with expiry, priority queues with
 * blocking pops, and broadcast, over the dispatcher Parser's frames (use the two together as a
 * listener's handler and parser). Everything lives in this process's memory: run it in a
 * server with workerNum 1 so every client sees the same data.
 *
 * Options: `hashSize`, `queueSize` (items per queue), `maxClients` (0 = no limit each) and
 * `token` (when set, a connection must `auth` before anything else).
 */
export class Handler extends BaseHandler {
  /** When not empty, a connection must send `{"command":"auth","value":token}` first. */
  token = '';
  /** Connections above which a new one gets error 740 and is closed (0 = no limit). */
  maxClients = 0;

  private readonly hash = new HashStore(655360);
  private readonly queues = new QueueStore(6553600);
  private readonly channels = new ChannelStore<ClientState>();
  private readonly clients = new Map<number, ClientState>();
  private readonly startedAt = Date.now();
  private readonly counters = { published: 0, broadcast: 0, delivered: 0, dropped: 0, rejected: 0 };
  private tokenDigest: Buffer | undefined;

  /** Entries the hash may hold (0 = no limit). Default 655360. */
  get hashSize(): number {
    return this.hash.limit;
  }
  set hashSize(n: number) {
    this.hash.limit = n;
  }

  /** Items one queue may hold (0 = no limit). Default 6553600. */
  get queueSize(): number {
    return this.queues.limit;
  }
  set queueSize(n: number) {
    this.queues.limit = n;
  }

  /** Validate the options (called by the container after they are set). */
  init(): void {
    for (const key of ['hashSize', 'queueSize', 'maxClients'] as const) {
      if (!Number.isInteger(this[key]) || this[key] < 0) {
        throw new ConfigError(`dispatcher handler.${key}`, `expected an integer >= 0 (0 = no limit), got ${String(this[key])}`);
      }
    }
    if (typeof this.token !== 'string') throw new ConfigError('dispatcher handler.token', 'expected a string');
  }

  override onConnect(event: IOEvent): void {
    const conn = event.sender as Connection;
    if (this.maxClients > 0 && this.clients.size >= this.maxClients) {
      this.counters.rejected++;
      conn.close(
        errorPacket(WireCodes.EXCEED_LIMIT, `the dispatcher has maxClients ${this.maxClients} connections`, undefined, {
          limit: 'maxClients',
        }),
      );
      return;
    }
    this.clients.set(conn.id, new ClientState(conn, this.token === ''));
  }

  override onClose(event: CloseEvent): void {
    const state = this.clients.get(event.sender.id);
    if (state === undefined) return;
    this.clients.delete(event.sender.id);
    this.channels.removeAll(state);
    for (const w of state.blocked) this.forget(w);
  }

  override onBufferFull(event: IOEvent): void {
    const state = this.clients.get(event.sender.id);
    if (state === undefined) return;
    // Stop reading its requests until it reads what we sent (backpressure), and skip it for
    // deliveries meanwhile: they would be dropped one by one anyway.
    state.full = true;
    state.conn.pause();
  }

  override onBufferDrain(event: IOEvent): void {
    const state = this.clients.get(event.sender.id);
    if (state === undefined) return;
    state.full = false;
    for (const w of [...state.blocked]) this.queues.serve(w);
    state.conn.resume();
  }

  /** The frame could not be parsed: say why in an error packet (the core then closes, flushing it). */
  override onBadPacket(event: ErrorEvent): void {
    const tooLarge = event.error.code === ErrorCodes.PACKET_TOO_LARGE;
    const packet = tooLarge
      ? errorPacket(WireCodes.EXCEED_LIMIT, event.error.message, undefined, { limit: 'maxPacketSize' })
      : errorPacket(WireCodes.DATA_ERROR, event.error.message, undefined, undefined);
    event.sender.send(packet, true);
  }

  override onMessage(event: MessageEvent): void {
    const state = this.clients.get(event.sender.id);
    if (state === undefined) return; // refused by maxClients, closing
    const req = event.message as Packet | BadBody;
    if (req instanceof BadBody) {
      this.sendError(state, new WireError(WireCodes.DATA_ERROR, req.reason), undefined);
      return;
    }
    try {
      const resp = this.execute(state, req);
      if (resp !== undefined) state.conn.send(encodePacket(resp), true);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.sendError(state, e, validSeq(req.seq));
    }
  }

  /** Run one request; undefined when the answer comes later (a blocked qpop). */
  private execute(state: ClientState, req: Packet): Packet | undefined {
    const command = req.command;
    if (typeof command !== 'string') throw new WireError(WireCodes.NO_COMMAND, 'command is required (a string)');
    if (validSeq(req.seq) === undefined) throw new WireError(WireCodes.NO_SEQ, 'seq is required (a string or a number)');
    if (!state.authed && command !== 'auth') throw new WireError(WireCodes.AUTH_REQUIRED, 'authentication required: send auth first');
    switch (command) {
      case 'publish':
        return ok(req, { key: req.key, published: this.publish(state, req) });
      case 'subscribe':
        for (const k of keyList(req)) this.channels.subscribe(state, keyName(k), k);
        return ok(req, { key: [...state.channels.values()] });
      case 'unsubscribe':
        for (const k of keyList(req)) this.channels.unsubscribe(state, keyName(k));
        return ok(req, { key: [...state.channels.values()] });
      case 'broadcast':
      case 'broadcat':
        return ok(req, { published: this.broadcast(state, req) });
      case 'channels':
        return ok(req, { value: this.listChannels() });
      case 'set':
        return this.set(req);
      case 'get': {
        const v = this.hash.get(keyName(singleKey(req)));
        return ok(req, { value: v === undefined ? null : v });
      }
      case 'delete':
        return ok(req, { value: this.hash.delete(keyName(singleKey(req))) ? 1 : 0 });
      case 'deleteall':
        return ok(req, { value: this.hash.clear() });
      case 'count':
        return ok(req, { value: this.hash.count() });
      case 'qpush':
        return this.qpush(req);
      case 'qpop':
        return this.qpop(state, req);
      case 'qcount':
        return ok(req, { value: this.queues.count(keyName(singleKey(req))) });
      case 'qdelete':
        return ok(req, { value: this.queues.delete(keyName(singleKey(req))) });
      case 'qdeleteall':
        return ok(req, { value: this.queues.clear() });
      case 'auth':
        return this.auth(state, req);
      case 'stats':
      case 'info':
        return ok(req, { value: this.getStats() });
      default:
        throw new WireError(WireCodes.UNKNOWN_COMMAND, `unknown command ${JSON.stringify(command).slice(0, 64)}`);
    }
  }

  /** Deliver to every subscriber of each key; the message is encoded once per key. */
  private publish(state: ClientState, req: Packet): number {
    const keys = keyList(req);
    const value = JSON.stringify(requiredValue(req));
    let n = 0;
    for (const key of keys) {
      const subs = this.channels.subscribers(keyName(key));
      if (subs === undefined) continue;
      const packet = encodeJson(`{"command":"message","key":${JSON.stringify(key)},"value":${value},"source":${state.source}}`);
      n += this.deliver(subs, packet, undefined);
    }
    this.counters.published++;
    return n;
  }

  /** To every connection with at least one subscription, once; not the sender unless loop. */
  private broadcast(state: ClientState, req: Packet): number {
    const value = JSON.stringify(requiredValue(req));
    const packet = encodeJson(`{"command":"broadcast","value":${value},"source":${state.source}}`);
    this.counters.broadcast++;
    return this.deliver(this.channels.subscribed, packet, req.loop === true ? undefined : state);
  }

  private deliver(subs: Iterable<ClientState>, packet: Buffer, skip: ClientState | undefined): number {
    let n = 0;
    for (const s of subs) {
      if (s === skip) continue;
      if (s.full) {
        this.counters.dropped++;
        continue;
      }
      s.conn.send(packet, true);
      n++;
    }
    this.counters.delivered += n;
    return n;
  }

  private listChannels(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [name, subs] of this.channels.entries()) out[name] = [...subs].map((s) => s.conn.peer);
    return out;
  }

  private set(req: Packet): Packet {
    const key = singleKey(req);
    const value = requiredValue(req);
    const expire = numberField(req, 'expire', 0);
    if (!this.hash.set(keyName(key), value, expire)) {
      throw new WireError(WireCodes.EXCEED_LIMIT, `the hash is full (hashSize ${this.hash.limit})`, { limit: 'hashSize' });
    }
    return ok(req, {});
  }

  private qpush(req: Packet): Packet {
    const key = singleKey(req);
    const value = requiredValue(req);
    const priority = numberField(req, 'priority');
    const n = this.queues.push(keyName(key), value, priority);
    if (n < 0) {
      throw new WireError(WireCodes.EXCEED_LIMIT, `queue ${JSON.stringify(key)} is full (queueSize ${this.queues.limit})`, {
        limit: 'queueSize',
      });
    }
    return ok(req, { value: n });
  }

  private qpop(state: ClientState, req: Packet): Packet | undefined {
    const name = keyName(singleKey(req));
    const timeout = numberField(req, 'timeout', 0);
    const item = this.queues.pop(name);
    if (item !== undefined) return ok(req, { value: item.value, priority: item.priority });
    if (req.block !== true) return ok(req, { value: null });
    const w = new BlockedPop(name, state, req, (x, it) => this.unblock(x, it));
    state.blocked.add(w);
    this.queues.wait(w);
    if (timeout > 0) w.timer = setTimeout(() => this.unblock(w, undefined), Math.min(timeout * 1000, 2 ** 31 - 1));
    return undefined;
  }

  /** A blocked pop got an item, or timed out (undefined): answer it. */
  private unblock(w: BlockedPop, item: QueueItem | undefined): void {
    this.forget(w);
    const resp = item === undefined ? ok(w.request, { value: null }) : ok(w.request, { value: item.value, priority: item.priority });
    w.state.conn.send(encodePacket(resp), true);
  }

  private forget(w: BlockedPop): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    w.state.blocked.delete(w);
    this.queues.unwait(w);
  }

  private auth(state: ClientState, req: Packet): Packet {
    if (this.token === '') {
      state.authed = true;
      return ok(req, {});
    }
    const given = req.value;
    this.tokenDigest ??= digest(this.token);
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), this.tokenDigest)) {
      // a failed request changes nothing: an authenticated connection stays authenticated
      throw new WireError(WireCodes.AUTH_FAILED, 'authentication failed: wrong token');
    }
    state.authed = true;
    return ok(req, {});
  }

  /** What `stats` / `info` answer. */
  getStats(): DispatcherStats {
    const l = this.listener?.getStats();
    return {
      clients: this.clients.size,
      channels: this.channels.size,
      subscribers: this.channels.subscribed.size,
      keys: this.hash.count(),
      expired: this.hash.expired,
      queues: this.queues.size,
      queued: this.queues.items,
      blocked: this.queues.blocked,
      ...this.counters,
      messagesIn: l?.messagesIn ?? 0,
      messagesOut: l?.messagesOut ?? 0,
      uptime: Math.round((Date.now() - this.startedAt) / 1000),
    };
  }

  private sendError(state: ClientState, e: WireError, seq: string | number | undefined): void {
    state.conn.send(errorPacket(e.code, e.message, seq, e.extra), true);
  }

  /** Stop the hash's expiry timer (the listener is going away). */
  override onStopAccept(): void {
    this.hash.dispose();
  }
}

/** What the `stats` command reports. */
export interface DispatcherStats {
  clients: number;
  channels: number;
  /** Connections with at least one subscription. */
  subscribers: number;
  keys: number;
  expired: number;
  queues: number;
  queued: number;
  blocked: number;
  published: number;
  broadcast: number;
  delivered: number;
  /** Deliveries skipped because the subscriber's send buffer was full. */
  dropped: number;
  /** Connections refused by maxClients. */
  rejected: number;
  messagesIn: number;
  messagesOut: number;
  uptime: number;
}

function ok(req: Packet, extra: Packet): Packet {
  return { command: req.command, key: req.key ?? null, code: 0, message: 'ok', seq: req.seq, ...extra };
}

function errorPacket(code: number, message: string, seq: string | number | undefined, extra: Record<string, unknown> | undefined): Buffer {
  return encodePacket({ command: 'error', code, message, seq: seq ?? null, ...extra });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
