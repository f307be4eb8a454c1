/** A channel, hash or queue key as it travels on the wire: a string or an integer (a GPID). */
export type Key = string | number;

/** Anything that can subscribe: it keeps the names of its own channels. */
export interface Subscriber {
  readonly channels: Set<string>;
  /** Not taking deliveries right now (its send buffer is full); see ChannelStore.setFull(). */
  full: boolean;
}

/** Estimated bytes of one subscription (two set entries) and of one channel, besides its name. */
export const SUBSCRIPTION_BYTES = 64;
export const CHANNEL_BYTES = 96;

/** One channel with at least one subscriber. */
export class Channel<S> {
  readonly subs = new Set<S>();
  /** Subscribers that are `full`: a publish reaches subs.size - full of them. */
  full = 0;
  /** Gone (no subscriber left): skipped by listings until compacted away. */
  dead = false;

  constructor(
    readonly name: string,
    /** Creation order: a listing cursor. */
    readonly seq: number,
  ) {}
}

/** One page of a channel listing. */
export interface ChannelPage<S> {
  /** The channels of this page, each with the subscribers listed (all, or the first `count`). */
  channels: Array<{ name: string; subs: S[]; total: number }>;
  /** Where the next page starts; 0 when this was the last. */
  cursor: number;
}

/**
 * Who listens on which channel. Channel names are compared as strings, so 65537 and "65537"
 * are the same channel (as they were as PHP array keys in the original). `subscribed` holds
 * every subscriber with at least one channel: a broadcast reaches each of them once.
 *
 * Channels are also kept in creation order, so a listing can be paged with a cursor that stays
 * valid while channels come and go (a channel present during the whole listing is listed
 * exactly once), and a page costs O(log n + page), not O(n).
 */
export class ChannelStore<S extends Subscriber> {
  private readonly byName = new Map<string, Channel<S>>();
  /** Live and dead channels by creation order (ascending seq). */
  private order: Array<Channel<S>> = [];
  private deadCount = 0;
  private nextSeq = 0;
  readonly subscribed = new Set<S>();
  /** Subscriptions held, over all subscribers. */
  subscriptions = 0;
  /** Estimated bytes of memory held (names, sets). */
  bytes = 0;

  /** Channels with at least one subscriber. */
  get size(): number {
    return this.byName.size;
  }

  /** Estimated bytes `s` subscribing to `names` would add (0 for the ones it has). */
  cost(s: S, names: Iterable<string>): number {
    let n = 0;
    for (const name of names) {
      if (s.channels.has(name)) continue;
      n += SUBSCRIPTION_BYTES + name.length;
      if (!this.byName.has(name)) n += CHANNEL_BYTES + name.length;
    }
    return n;
  }

  subscribe(s: S, name: string): void {
    if (s.channels.has(name)) return;
    let ch = this.byName.get(name);
    if (ch === undefined) {
      ch = new Channel<S>(name, ++this.nextSeq);
      this.byName.set(name, ch);
      this.order.push(ch);
      this.bytes += CHANNEL_BYTES + name.length;
    }
    ch.subs.add(s);
    if (s.full) ch.full++;
    s.channels.add(name);
    this.subscriptions++;
    this.bytes += SUBSCRIPTION_BYTES + name.length;
    this.subscribed.add(s);
  }

  unsubscribe(s: S, name: string): void {
    if (!s.channels.delete(name)) return;
    this.subscriptions--;
    this.bytes -= SUBSCRIPTION_BYTES + name.length;
    const ch = this.byName.get(name);
    if (ch !== undefined) {
      ch.subs.delete(s);
      if (s.full) ch.full--;
      if (ch.subs.size === 0) this.drop(ch);
    }
    if (s.channels.size === 0) this.subscribed.delete(s);
  }

  /** `s` stops (true) or starts again (false) taking deliveries. */
  setFull(s: S, full: boolean): void {
    if (s.full === full) return;
    s.full = full;
    const d = full ? 1 : -1;
    for (const name of s.channels) {
      const ch = this.byName.get(name);
      if (ch !== undefined) ch.full += d;
    }
  }

  /** Drop every subscription of `s` (its connection closed). */
  removeAll(s: S): void {
    for (const name of s.channels) {
      this.subscriptions--;
      this.bytes -= SUBSCRIPTION_BYTES + name.length;
      const ch = this.byName.get(name);
      if (ch === undefined) continue;
      ch.subs.delete(s);
      if (s.full) ch.full--;
      if (ch.subs.size === 0) this.drop(ch);
    }
    s.channels.clear();
    this.subscribed.delete(s);
  }

  private drop(ch: Channel<S>): void {
    this.byName.delete(ch.name);
    this.bytes -= CHANNEL_BYTES + ch.name.length;
    ch.dead = true;
    this.deadCount++;
    // keep `order` mostly live: compact when the dead outnumber the live (amortized O(1))
    if (this.deadCount > 1024 && this.deadCount > this.byName.size) {
      this.order = this.order.filter((c) => !c.dead);
      this.deadCount = 0;
    }
  }

  /** The channel of that name, if it has subscribers. */
  channel(name: string): Channel<S> | undefined {
    return this.byName.get(name);
  }

  /**
   * One page of the listing from `cursor` (0 = the start): whole channels while their
   * subscribers fit in `count`; a first channel with more than `count` subscribers is listed
   * with its first `count` of them.
   */
  page(cursor: number, count: number): ChannelPage<S> {
    const order = this.order;
    // first channel with seq >= cursor
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((order[mid] as Channel<S>).seq < cursor) lo = mid + 1;
      else hi = mid;
    }
    const out: ChannelPage<S>['channels'] = [];
    let budget = count;
    let i = lo;
    for (; i < order.length; i++) {
      const ch = order[i] as Channel<S>;
      if (ch.dead) continue;
      const n = ch.subs.size;
      if (n > budget) {
        if (out.length > 0) break;
        const subs: S[] = [];
        for (const s of ch.subs) {
          if (subs.length === budget) break;
          subs.push(s);
        }
        out.push({ name: ch.name, subs, total: n });
        i++;
        break;
      }
      out.push({ name: ch.name, subs: [...ch.subs], total: n });
      budget -= n;
      if (budget === 0) {
        i++;
        break;
      }
    }
    while (i < order.length && (order[i] as Channel<S>).dead) i++;
    return { channels: out, cursor: i < order.length ? (order[i] as Channel<S>).seq : 0 };
  }
}
