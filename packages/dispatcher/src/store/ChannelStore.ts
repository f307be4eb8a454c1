/** A channel, hash or queue key as it travels on the wire: a string or an integer (a GPID). */
export type Key = string | number;

/** Anything that can subscribe: it keeps its own channels (name → key as it first gave it). */
export interface Subscriber {
  readonly channels: Map<string, Key>;
}

/**
 * Who listens on which channel. Channel names are compared as strings, so 65537 and "65537"
 * are the same channel (as they were as PHP array keys in the original). `subscribed` holds
 * every subscriber with at least one channel: a broadcast reaches each of them once.
 */
export class ChannelStore<S extends Subscriber> {
  private readonly byName = new Map<string, Set<S>>();
  readonly subscribed = new Set<S>();

  /** Channels with at least one subscriber. */
  get size(): number {
    return this.byName.size;
  }

  subscribe(s: S, name: string, key: Key): void {
    let set = this.byName.get(name);
    if (set === undefined) {
      set = new Set();
      this.byName.set(name, set);
    }
    set.add(s);
    if (!s.channels.has(name)) s.channels.set(name, key);
    this.subscribed.add(s);
  }

  unsubscribe(s: S, name: string): void {
    const set = this.byName.get(name);
    if (set !== undefined) {
      set.delete(s);
      if (set.size === 0) this.byName.delete(name);
    }
    s.channels.delete(name);
    if (s.channels.size === 0) this.subscribed.delete(s);
  }

  /** Drop every subscription of `s` (its connection closed). */
  removeAll(s: S): void {
    for (const name of [...s.channels.keys()]) this.unsubscribe(s, name);
    this.subscribed.delete(s);
  }

  subscribers(name: string): Set<S> | undefined {
    return this.byName.get(name);
  }

  /** Channel name → its subscribers. */
  entries(): IterableIterator<[string, Set<S>]> {
    return this.byName.entries();
  }
}
