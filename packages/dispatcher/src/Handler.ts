import { createHash, timingSafeEqual } from 'node:crypto';
import cluster from 'node:cluster';
import {
  type AdoptEvent,
  Handler as BaseHandler,
  type Application,
  type CloseEvent,
  type Connection,
  ConfigError,
  type ErrorEvent,
  ErrorCodes,
  type HandoffEvent,
  type IOEvent,
  type MessageEvent,
  toError,
} from '@beyod/core';
import { broadcastFrame, errorText, messageLength, okHead, okHeadWithKey, sourceTail, writeMessage } from './answers';
import { WireCodes } from './errors';
import { BadBody, F, type Request, T_NUMBER, T_STRING, recycle } from './Request';
import { AuthThrottle, addressOf } from './store/AuthThrottle';
import { type Channel, ChannelStore, type Key, type Subscriber } from './store/ChannelStore';
import { HashStore } from './store/HashStore';
import { type QueueItem, QueueStore, type Waiter } from './store/QueueStore';
import { Refusal, isTrue, keyList, keyName, numberField, requireValue, seqText, singleKeyName } from './wire';

/** One connected client of the dispatcher. */
class ClientState implements Subscriber {
  readonly channels = new Set<string>();
  readonly blocked = new Set<BlockedPop>();
  /** Its send buffer is over maxSendBuffer: deliveries skip it, answers wait in `pending`. */
  full = false;
  /** Answers made while `full`, sent in order once it drains: an answer is never dropped. */
  pending: string[] = [];
  /** `,"source":"ip:port"}`: the end of what it publishes. */
  readonly tail: Buffer;
  /** Its address, for auth throttling. */
  readonly address: string;

  constructor(
    readonly conn: Connection,
    public authed: boolean,
  ) {
    this.tail = sourceTail(conn.peer);
    this.address = addressOf(conn.peer);
  }
}

/** What moves with a client (live handoff). */
interface MovedClient {
  channels: string[];
  authed: boolean;
  token: string;
}

/** Estimated bytes of a blocked pop besides its key and answer head. */
const WAITER_BYTES = 160;

/** A qpop with block: true waiting for an item. */
class BlockedPop implements Waiter {
  timer: NodeJS.Timeout | undefined = undefined;
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  waiting = false;
  readonly bytes: number;

  constructor(
    readonly key: string,
    readonly state: ClientState,
    /** Its answer up to the value: `{"command":"qpop","key":...,"seq":...` (copied out of the request). */
    readonly head: string,
    readonly handler: Handler,
  ) {
    this.bytes = WAITER_BYTES + key.length + head.length;
  }

  deliver(item: QueueItem): void {
    this.handler._unblock(this, item);
  }
}

function onPopTimeout(w: BlockedPop): void {
  w.handler._unblock(w, undefined);
}

function onTurnEnd(h: Handler): void {
  h._flushBatch();
}

/** True when b[s, e) equals bytes[0, e - s) (the caller checked the length). */
function sameBytes(b: Buffer, s: number, e: number, bytes: Buffer): boolean {
  // from the end: the keys of one application tend to share their start
  for (let k = e - s - 1; k >= 0; k--) if (b[s + k] !== bytes[k]) return false;
  return true;
}

/** Largest batch of deliveries to one channel before it is written out. */
const BATCH_MAX = 64 * 1024;
/** Bytes of a slab of batches (a batch of up to BATCH_MAX and a delivery always fits one). */
const SLAB_SIZE = 256 * 1024;

const LIMIT_BLOCKED = { limit: 'maxBlockedPops' };
const LIMIT_SUBSCRIPTIONS = { limit: 'maxSubscriptions' };

function refused(r: Refusal, seq: string): string {
  return errorText(r.code, r.message, seq, r.extra);
}

/** The most a `channels` page lists (subscriptions, i.e. channel and peer pairs). */
const MAX_PAGE = 1000;

/**
 * The dispatcher server: pub/sub channels, a shared hash with expiry, priority queues with
 * blocking pops, and broadcast, over the dispatcher Parser's frames (use the two together as a
 * listener's handler and parser). Everything lives in this process's memory, so a server with
 * a dispatcher listener must run one worker (refused at start otherwise).
 *
 * Every request gets exactly one answer; every per-connection structure and the memory held
 * are bounded by the options below (docs/dispatcher.md, "Limits and options").
 */
export class Handler extends BaseHandler {
  /** When not empty, a connection must send `{"command":"auth","value":token}` first. */
  token = '';
  /** Connections above which a new one gets error 740 and is closed (0 = no limit). */
  maxClients = 0;
  /** Blocking pops one connection may have waiting; one more gets 740 (0 = no limit). */
  maxBlockedPops = 1000;
  /** Channels one connection may be subscribed to; a subscribe past it gets 740 (0 = no limit). */
  maxSubscriptions = 100000;
  /**
   * Bytes (estimated) the hash, the queues, the blocked pops and the subscriptions may hold
   * together; a request that would go past it gets 740 (0 = no limit). Default 256 MiB.
   */
  memoryLimit = 256 * 1024 * 1024;
  /** Failed auth from one address before it is refused for authBlockTime (0 = never). */
  maxAuthFailures = 10;
  /** Seconds an address is refused after maxAuthFailures failed auth. */
  authBlockTime = 60;
  /** Set by the application before init(): how the server it runs in is configured. */
  app: Application | undefined = undefined;

  private readonly hash = new HashStore(655360);
  private readonly queues = new QueueStore(6553600);
  private readonly channels = new ChannelStore<ClientState>();
  private readonly clients = new Map<number, ClientState>();
  private readonly throttle = new AuthThrottle();
  private readonly startedAt = Date.now();
  private readonly counters = { published: 0, broadcast: 0, delivered: 0, dropped: 0, rejected: 0 };
  private tokenDigest: Buffer | undefined;
  /**
   * The deliveries published to one channel in this event-loop turn, framed back to back in
   * one buffer and written to each subscriber at once at the end of the turn (or before
   * anything else is sent to one of them, so every connection still sees everything in order).
   * A fan-out then costs one send() per subscriber per turn instead of one per message, and a
   * big batch is passed to every socket by reference, never copied per subscriber.
   */
  private batch: Channel<ClientState> | undefined = undefined;
  /**
   * Batches are written into a slab, one after the other, and a flushed batch is never
   * written again (the sockets may hold it): one allocation per slab instead of one per batch.
   */
  private slab: Buffer = Buffer.allocUnsafe(0);
  /** Where the next batch starts in the slab. */
  private slabPos = 0;
  /** The batch under way: slab[batchStart, batchEnd). */
  private batchStart = 0;
  private batchEnd = 0;
  private batchCount = 0;
  private batchScheduled = false;
  /** The connection of the last request (a read brings a run of them from one connection). */
  private lastState: ClientState | undefined = undefined;
  /**
   * The raw key (JSON text) of the last single-key publish, its name and its channel: the same
   * bytes always name the same key, so the next publish to it makes no string.
   */
  private readonly lastKey: { bytes: Buffer; length: number; name: string; channel: Channel<ClientState> | undefined } = {
    bytes: Buffer.alloc(64),
    length: -1,
    name: '',
    channel: undefined,
  };

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
    const keys = ['hashSize', 'queueSize', 'maxClients', 'maxBlockedPops', 'maxSubscriptions', 'memoryLimit', 'maxAuthFailures'] as const;
    for (const key of keys) {
      if (!Number.isInteger(this[key]) || this[key] < 0) {
        throw new ConfigError(`dispatcher handler.${key}`, `expected an integer >= 0 (0 = no limit), got ${String(this[key])}`);
      }
    }
    if (!(this.authBlockTime >= 0)) throw new ConfigError('dispatcher handler.authBlockTime', 'expected seconds >= 0');
    if (typeof this.token !== 'string') throw new ConfigError('dispatcher handler.token', 'expected a string');
    this.throttle.maxFailures = this.maxAuthFailures;
    this.throttle.blockTime = this.authBlockTime;
    const server = this.app?.server;
    // node:cluster workers each get their own copy of everything: two workers would be two
    // dispatchers behind one port, each seeing only the clients the kernel gave it
    if (server !== undefined && cluster.isWorker && server.workerNum > 1) {
      throw new ConfigError(
        'components.server.workerNum',
        `a dispatcher listener keeps its channels, hash and queues in one process; with workerNum ${server.workerNum} ` +
          `each worker would be a separate dispatcher behind the same port. Set workerNum: 1 for the server that runs ` +
          `the dispatcher (put other listeners in another app), or run several dispatchers on different ports`,
        this.app?.configFile,
      );
    }
  }

  override onStartAccept(): void {
    const l = this.listener;
    if (this.token === '' && l !== undefined && l.transport !== 'unix' && !/^(127\.|\[::1\]|localhost)/.test(l.address ?? '')) {
      l.logger.warn(
        { listener: l.name, address: l.address },
        'dispatcher without a token on a non-loopback address: any peer that can reach it may use it (set handler.token)',
      );
    }
  }

  override onConnect(event: IOEvent): void {
    const conn = event.sender as Connection;
    if (this.maxClients > 0 && this.clients.size >= this.maxClients) {
      this.counters.rejected++;
      conn.close(
        errorText(WireCodes.EXCEED_LIMIT, `the dispatcher has maxClients ${this.maxClients} connections`, undefined, {
          limit: 'maxClients',
        }),
      );
      return;
    }
    this.clients.set(conn.id, new ClientState(conn, this.token === ''));
  }

  /**
   * Live handoff (a reload): a client moves with its subscriptions and its authentication.
   * One with pops blocked, answers held back or a full send buffer moves once they are done
   * (or drains, after handoffTimeout). Deliveries batched this turn are written first.
   */
  protected override beforeHandoff(event: HandoffEvent): void {
    const state = this.clients.get(event.sender.id);
    if (state === undefined) return;
    if (state.blocked.size > 0 || state.pending.length > 0 || state.full) {
      event.defer();
      return;
    }
    if (this.inBatch(state)) this._flushBatch();
    const moved: MovedClient = { channels: [...state.channels], authed: state.authed, token: this.tokenTag() };
    event.protocolState = { dispatcher: moved };
  }

  /** Live handoff: the client left this process; forget it (as onClose would). */
  protected override afterHandoff(event: HandoffEvent): void {
    const state = this.clients.get(event.sender.id);
    if (state === undefined) return;
    this.clients.delete(event.sender.id);
    if (this.lastState === state) this.lastState = undefined;
    this.channels.removeAll(state);
  }

  /**
   * Live handoff: a client moved here; subscribe it again. It stays authenticated if the token
   * is the one it authenticated with.
   */
  protected override beforeAdopt(event: AdoptEvent): void {
    const moved = (event.protocolState as { dispatcher?: MovedClient } | null)?.dispatcher;
    const conn = event.sender as Connection;
    const authed = this.token === '' || (moved?.authed === true && moved.token === this.tokenTag());
    const state = new ClientState(conn, authed);
    this.clients.set(conn.id, state);
    for (const name of moved?.channels ?? []) if (typeof name === 'string') this.channels.subscribe(state, name);
  }

  /** A short digest of the token (never the token itself: it travels through the master). */
  private tokenTag(): string {
    return this.token === '' ? '' : digest(this.token).toString('hex').slice(0, 16);
  }

  override onClose(event: CloseEvent): void {
    const state = this.clients.get(event.sender.id);
    if (state === undefined) return;
    this.clients.delete(event.sender.id);
    if (this.lastState === state) this.lastState = undefined;
    if (this.inBatch(state)) this._flushBatch();
    this.channels.removeAll(state);
    for (const w of state.blocked) this.forget(w);
    state.blocked.clear();
    state.pending = [];
  }

  override onBufferFull(event: IOEvent): void {
    const state = this.clients.get(event.sender.id);
    if (state === undefined) return;
    // Stop reading its requests until it reads what we sent (backpressure); skip it for
    // deliveries meanwhile, and keep its answers until it drains.
    this.channels.setFull(state, true);
    state.conn.pause();
  }

  override onBufferDrain(event: IOEvent): void {
    const state = this.clients.get(event.sender.id);
    if (state === undefined) return;
    // what was published while it was full is counted as dropped for it: send that first
    if (this.inBatch(state)) this._flushBatch();
    this.channels.setFull(state, false);
    const pending = state.pending;
    let i = 0;
    while (i < pending.length && !state.full) state.conn.send(pending[i++]);
    state.pending = i === pending.length ? [] : pending.slice(i);
    if (!state.full) state.conn.resume();
  }

  /** The frame could not be parsed: say why in an error packet (the core then closes, flushing it). */
  override onBadPacket(event: ErrorEvent): void {
    const state = this.clients.get(event.sender.id);
    if (state !== undefined && this.inBatch(state)) this._flushBatch();
    const tooLarge = event.error.code === ErrorCodes.PACKET_TOO_LARGE;
    const text = tooLarge
      ? errorText(WireCodes.EXCEED_LIMIT, event.error.message, undefined, { limit: 'maxPacketSize' })
      : errorText(WireCodes.DATA_ERROR, event.error.message, undefined, undefined);
    event.sender.send(text);
  }

  override onMessage(event: MessageEvent): void {
    // a read brings a run of requests from one connection: its state is looked up once
    let state = this.lastState;
    if (state === undefined || state.conn !== event.sender) {
      state = this.clients.get(event.sender.id);
      if (state === undefined) return; // refused by maxClients, closing
      this.lastState = state;
    }
    const req = event.message as Request | BadBody;
    if (req instanceof BadBody) {
      this.reply(state, errorText(WireCodes.DATA_ERROR, req.reason, undefined, undefined));
      return;
    }
    let answer: string | undefined;
    try {
      answer = this.execute(state, req);
    } catch (e) {
      // a bug: still one answer, and the connection goes on
      const err = toError(e);
      this.listener?.logger.error({ err, peer: state.conn.peer, command: req.command }, 'dispatcher failed on a request');
      answer = errorText(WireCodes.INTERNAL_ERROR, `internal error: ${err.message}`, seqText(req), undefined);
    }
    if (answer !== undefined) this.reply(state, answer);
    // nothing keeps a request (a blocked pop copies what it needs): the next one reuses it
    recycle(req);
  }

  /** True when this turn's batch of deliveries goes to `state` (then it is written before anything else to it). */
  private inBatch(state: ClientState): boolean {
    // a connection with no subscription (a publisher, a client of the hash) is in no batch
    return this.batch !== undefined && state.channels.size > 0 && this.batch.subs.has(state);
  }

  /** Send an answer; while the connection's buffer is full it waits, in order, never dropped. */
  private reply(state: ClientState, text: string): void {
    if (this.inBatch(state)) this._flushBatch();
    if (state.full) state.pending.push(text);
    else state.conn.send(text);
  }

  /**
   * Run one request: the answer's text (an error answer when refused), or undefined when it
   * comes later (a blocked qpop).
   */
  private execute(state: ClientState, req: Request): string | undefined {
    const seq = seqText(req);
    if (req.tooDeep !== '') return errorText(WireCodes.DATA_ERROR, req.tooDeep, seq, undefined);
    const command = req.command;
    if (command === undefined) return errorText(WireCodes.NO_COMMAND, 'command is required (a string)', seq, undefined);
    if (seq === undefined) return errorText(WireCodes.NO_SEQ, 'seq is required (a string or a number)', undefined, undefined);
    if (!state.authed && command !== 'auth') {
      return errorText(WireCodes.AUTH_REQUIRED, 'authentication required: send auth first', seq, undefined);
    }
    let r: string | number | Refusal | undefined;
    switch (command) {
      case 'publish':
        r = this.publish(state, req);
        return typeof r === 'number' ? `${okHead(req, command, seq)},"published":${r}}` : refused(r, seq);
      case 'subscribe':
      case 'unsubscribe':
        return this.subscribe(state, req, command, seq);
      case 'broadcast':
      case 'broadcat':
        r = this.broadcast(state, req);
        return typeof r === 'number' ? `${okHead(req, command, seq)},"published":${r}}` : refused(r, seq);
      case 'channels':
        return this.listChannels(req, seq);
      case 'set':
        r = this.set(req);
        return r === undefined ? `${okHead(req, command, seq)}}` : refused(r, seq);
      case 'get':
        r = singleKeyName(req);
        return typeof r === 'string' ? `${okHead(req, command, seq)},"value":${this.hash.get(r) ?? 'null'}}` : refused(r, seq);
      case 'delete':
        r = singleKeyName(req);
        return typeof r === 'string' ? `${okHead(req, command, seq)},"value":${this.hash.delete(r) ? 1 : 0}}` : refused(r, seq);
      case 'deleteall':
        return `${okHead(req, command, seq)},"value":${this.hash.clear()}}`;
      case 'count':
        return `${okHead(req, command, seq)},"value":${this.hash.count()}}`;
      case 'qpush':
        r = this.qpush(req);
        return typeof r === 'number' ? `${okHead(req, command, seq)},"value":${r}}` : refused(r, seq);
      case 'qpop':
        return this.qpop(state, req, seq);
      case 'qcount':
        r = singleKeyName(req);
        return typeof r === 'string' ? `${okHead(req, command, seq)},"value":${this.queues.count(r)}}` : refused(r, seq);
      case 'qdelete':
        r = singleKeyName(req);
        return typeof r === 'string' ? `${okHead(req, command, seq)},"value":${this.queues.delete(r)}}` : refused(r, seq);
      case 'qdeleteall':
        return `${okHead(req, command, seq)},"value":${this.queues.clear()}}`;
      case 'auth':
        r = this.auth(state, req);
        return r === undefined ? `${okHead(req, command, seq)}}` : refused(r, seq);
      case 'stats':
      case 'info':
        return `${okHead(req, command, seq)},"value":${JSON.stringify(this.getStats())}}`;
      default:
        return errorText(WireCodes.UNKNOWN_COMMAND, `unknown command ${JSON.stringify(command).slice(0, 64)}`, seq, undefined);
    }
  }

  /** Deliver to every subscriber of each key; each delivery is framed once for all of them. */
  private publish(state: ClientState, req: Request): number | Refusal {
    const t = req.type(F.key);
    const b = req.buf;
    let n = 0;
    if (t === T_STRING || t === T_NUMBER) {
      // one key: its bytes go into the delivery as they came (the publisher's form)
      const ks = req.start(F.key);
      const ke = req.end(F.key);
      let ch: Channel<ClientState> | undefined;
      const last = this.lastKey;
      if (ke - ks === last.length && sameBytes(b, ks, ke, last.bytes)) {
        // the key of the last publish (a publisher keeps to its channel): no string made
        req.keyName = last.name;
        ch = last.channel;
        if (ch === undefined || ch.dead) ch = last.channel = this.channels.channel(last.name);
      } else {
        const name = singleKeyName(req);
        if (typeof name !== 'string') return name;
        ch = this.channels.channel(name);
        if (ke - ks <= last.bytes.length) {
          b.copy(last.bytes, 0, ks, ke);
          last.length = ke - ks;
          last.name = name;
          last.channel = ch;
        }
      }
      const no = requireValue(req);
      if (no !== undefined) return no;
      if (ch !== undefined) n = this.enqueue(ch, b, ks, ke, b, req.start(F.value), req.end(F.value), state.tail);
    } else {
      const keys = keyList(req);
      if (keys instanceof Refusal) return keys;
      const no = requireValue(req);
      if (no !== undefined) return no;
      for (const key of keys) {
        const ch = this.channels.channel(keyName(key));
        if (ch === undefined) continue;
        const k = Buffer.from(JSON.stringify(key));
        n += this.enqueue(ch, k, 0, k.length, b, req.start(F.value), req.end(F.value), state.tail);
      }
    }
    this.counters.published++;
    return n;
  }

  /** Add one delivery to channel `ch` to this turn's batch; returns how many it will reach. */
  private enqueue(ch: Channel<ClientState>, kb: Buffer, ks: number, ke: number, vb: Buffer, vs: number, ve: number, tail: Buffer): number {
    const n = messageLength(ke - ks, ve - vs, tail);
    if (this.batch !== ch || this.batchEnd - this.batchStart + n > BATCH_MAX) this._flushBatch();
    if (this.batch === undefined) {
      this.batch = ch;
      this.batchStart = this.batchEnd = this.slabPos;
      if (!this.batchScheduled) {
        this.batchScheduled = true;
        process.nextTick(onTurnEnd, this);
      }
    }
    if (this.slab.length - this.batchEnd < n) {
      // a new slab, with the batch so far moved to its start
      const had = this.batchEnd - this.batchStart;
      const slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, had + n));
      this.slab.copy(slab, 0, this.batchStart, this.batchEnd);
      this.slab = slab;
      this.batchStart = 0;
      this.batchEnd = had;
    }
    this.batchEnd = writeMessage(this.slab, this.batchEnd, kb, ks, ke, vb, vs, ve, tail);
    this.batchCount++;
    return ch.subs.size - ch.full;
  }

  /** @internal Write this turn's batch to every subscriber of its channel that takes deliveries. */
  _flushBatch(): void {
    this.batchScheduled = false;
    const ch = this.batch;
    if (ch === undefined) return;
    const data = this.slab.subarray(this.batchStart, this.batchEnd);
    const count = this.batchCount;
    this.batch = undefined;
    // the next batch starts after this one, 8-byte aligned
    this.slabPos = (this.batchEnd + 7) & ~7;
    this.batchCount = 0;
    let sent = 0;
    for (const s of ch.subs) {
      if (s.full) continue;
      s.conn.send(data, true);
      sent++;
    }
    this.counters.delivered += sent * count;
    this.counters.dropped += (ch.subs.size - sent) * count;
  }

  /** To every connection with at least one subscription, once; not the sender unless loop. */
  private broadcast(state: ClientState, req: Request): number | Refusal {
    const no = requireValue(req);
    if (no !== undefined) return no;
    this._flushBatch();
    const packet = broadcastFrame(req.buf, req.start(F.value), req.end(F.value), state.tail);
    this.counters.broadcast++;
    const skip = isTrue(req, F.loop) ? undefined : state;
    let n = 0;
    let dropped = 0;
    for (const s of this.channels.subscribed) {
      if (s === skip) continue;
      if (s.full) {
        dropped++;
        continue;
      }
      s.conn.send(packet, true);
      n++;
    }
    this.counters.delivered += n;
    this.counters.dropped += dropped;
    return n;
  }

  /** subscribe / unsubscribe: the answer carries this request's keys and the new count, not every channel. */
  private subscribe(state: ClientState, req: Request, command: string, seq: string): string {
    const keys = keyList(req);
    if (keys instanceof Refusal) return refused(keys, seq);
    // what was published before this (un)subscribe goes to the subscribers as they were
    this._flushBatch();
    const names = keys.map(keyName);
    if (command === 'subscribe') {
      const max = this.maxSubscriptions;
      if (max > 0) {
        let added = 0;
        for (const name of names) if (!state.channels.has(name)) added++;
        if (state.channels.size + added > max) {
          const why = `subscribe: ${added} more channels would make ${state.channels.size + added}; maxSubscriptions is ${max} per connection`;
          return errorText(WireCodes.EXCEED_LIMIT, why, seq, LIMIT_SUBSCRIPTIONS);
        }
      }
      const full = this.memoryFull(this.channels.cost(state, names));
      if (full !== undefined) return refused(full, seq);
      for (const name of names) this.channels.subscribe(state, name);
    } else {
      for (const name of names) this.channels.unsubscribe(state, name);
    }
    return `${okHeadWithKey(command, JSON.stringify(keys), seq)},"count":${state.channels.size}}`;
  }

  /** One page of channels with their subscribers' addresses; `cursor` goes on (0 = done). */
  private listChannels(req: Request, seq: string): string {
    const cursor = numberField(req, F.cursor, 'cursor', 0);
    if (cursor instanceof Refusal) return refused(cursor, seq);
    const asked = numberField(req, F.count, 'count', 0);
    if (asked instanceof Refusal) return refused(asked, seq);
    if (!Number.isInteger(cursor) || !Number.isInteger(asked)) {
      return errorText(WireCodes.DATA_ERROR, 'channels: cursor and count must be integers', seq, undefined);
    }
    const count = asked === 0 ? MAX_PAGE : Math.min(asked, MAX_PAGE);
    const page = this.channels.page(cursor, count);
    const value: Record<string, string[]> = {};
    let more: Record<string, number> | undefined;
    for (const ch of page.channels) {
      value[ch.name] = ch.subs.map((s) => s.conn.peer);
      if (ch.total > ch.subs.length) (more ??= {})[ch.name] = ch.total - ch.subs.length;
    }
    const rest = more === undefined ? '' : `,"more":${JSON.stringify(more)}`;
    return `${okHead(req, 'channels', seq)},"value":${JSON.stringify(value)},"cursor":${page.cursor},"total":${this.channels.size}${rest}}`;
  }

  private set(req: Request): Refusal | undefined {
    const name = singleKeyName(req);
    if (typeof name !== 'string') return name;
    const no = requireValue(req);
    if (no !== undefined) return no;
    const expire = numberField(req, F.expire, 'expire', 0);
    if (typeof expire !== 'number') return expire;
    const room = this.memoryLimit <= 0 ? Infinity : this.memoryLimit - this.memoryUsed();
    const r = this.hash.setWithin(name, req.raw(F.value), expire, room);
    if (r === 0) return undefined;
    if (r < 0) return new Refusal(WireCodes.EXCEED_LIMIT, `the hash is full (hashSize ${this.hash.limit})`, { limit: 'hashSize' });
    return this.memoryFull(r);
  }

  private qpush(req: Request): number | Refusal {
    const name = singleKeyName(req);
    if (typeof name !== 'string') return name;
    const no = requireValue(req);
    if (no !== undefined) return no;
    const priority = numberField(req, F.priority, 'priority');
    if (typeof priority !== 'number') return priority;
    const value = req.raw(F.value);
    if (!this.queues.hasWaiter(name)) {
      const full = this.memoryFull(this.queues.cost(name, value));
      if (full !== undefined) return full;
    }
    const n = this.queues.push(name, value, priority);
    if (n < 0) {
      return new Refusal(WireCodes.EXCEED_LIMIT, `queue ${req.raw(F.key).slice(0, 64)} is full (queueSize ${this.queues.limit})`, {
        limit: 'queueSize',
      });
    }
    return n;
  }

  private qpop(state: ClientState, req: Request, seq: string): string | undefined {
    const name = singleKeyName(req);
    if (typeof name !== 'string') return refused(name, seq);
    const timeout = numberField(req, F.timeout, 'timeout', 0);
    if (typeof timeout !== 'number') return refused(timeout, seq);
    const item = this.queues.pop(name);
    const head = okHead(req, 'qpop', seq);
    if (item !== undefined) return `${head},"value":${item.value},"priority":${item.priority}}`;
    if (!isTrue(req, F.block)) return `${head},"value":null}`;
    if (this.maxBlockedPops > 0 && state.blocked.size >= this.maxBlockedPops) {
      const why = `qpop: this connection already has ${state.blocked.size} blocked pops (maxBlockedPops)`;
      return errorText(WireCodes.EXCEED_LIMIT, why, seq, LIMIT_BLOCKED);
    }
    const w = new BlockedPop(name, state, head, this);
    const full = this.memoryFull(w.bytes);
    if (full !== undefined) return refused(full, seq);
    state.blocked.add(w);
    this.queues.wait(w);
    if (timeout > 0) w.timer = setTimeout(onPopTimeout, Math.min(timeout * 1000, 2 ** 31 - 1), w);
    return undefined;
  }

  /** @internal A blocked pop got an item, or timed out (undefined): answer it. */
  _unblock(w: BlockedPop, item: QueueItem | undefined): void {
    this.forget(w);
    this.reply(w.state, item === undefined ? `${w.head},"value":null}` : `${w.head},"value":${item.value},"priority":${item.priority}}`);
  }

  private forget(w: BlockedPop): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    w.state.blocked.delete(w);
    this.queues.unwait(w);
  }

  private auth(state: ClientState, req: Request): Refusal | undefined {
    const wait = this.throttle.blocked(state.address);
    if (wait > 0) {
      return new Refusal(WireCodes.AUTH_THROTTLED, `too many failed auth from ${state.address}: try again in ${Math.ceil(wait)} s`, {
        retryAfter: Math.ceil(wait),
      });
    }
    if (this.token === '') {
      state.authed = true;
      return undefined;
    }
    const given = req.type(F.value) === T_STRING ? req.string(F.value) : undefined;
    this.tokenDigest ??= digest(this.token);
    if (given === undefined || !timingSafeEqual(digest(given), this.tokenDigest)) {
      // a failed request changes nothing: an authenticated connection stays authenticated
      const blocked = this.throttle.fail(state.address);
      const then = blocked ? `; ${state.address} is refused for ${this.authBlockTime} s` : '';
      return new Refusal(WireCodes.AUTH_FAILED, `authentication failed: wrong token${then}`);
    }
    this.throttle.succeed(state.address);
    state.authed = true;
    return undefined;
  }

  /** The refusal (740 memoryLimit) when `cost` more bytes would take the held bytes past memoryLimit. */
  private memoryFull(cost: number): Refusal | undefined {
    if (this.memoryLimit <= 0 || cost <= 0) return undefined;
    const used = this.memoryUsed();
    if (used + cost <= this.memoryLimit) return undefined;
    return new Refusal(
      WireCodes.EXCEED_LIMIT,
      `the dispatcher's memory is full: ${used} of memoryLimit ${this.memoryLimit} bytes used, this needs ${cost} more`,
      { limit: 'memoryLimit' },
    );
  }

  private memoryUsed(): number {
    return this.hash.bytes + this.queues.bytes + this.channels.bytes;
  }

  /** What `stats` / `info` answer. */
  getStats(): DispatcherStats {
    const l = this.listener?.getStats();
    return {
      clients: this.clients.size,
      channels: this.channels.size,
      subscribers: this.channels.subscribed.size,
      subscriptions: this.channels.subscriptions,
      keys: this.hash.count(),
      expired: this.hash.expired,
      queues: this.queues.size,
      queued: this.queues.items,
      blocked: this.queues.blocked,
      memory: this.memoryUsed(),
      memoryLimit: this.memoryLimit,
      ...this.counters,
      messagesIn: l?.messagesIn ?? 0,
      messagesOut: l?.messagesOut ?? 0,
      uptime: Math.round((Date.now() - this.startedAt) / 1000),
    };
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
  /** (connection, channel) pairs. */
  subscriptions: number;
  keys: number;
  expired: number;
  queues: number;
  queued: number;
  blocked: number;
  /** Estimated bytes held by the hash, the queues, the blocked pops and the subscriptions. */
  memory: number;
  memoryLimit: number;
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

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export type { Key };
