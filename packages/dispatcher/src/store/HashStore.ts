import { Heap } from './Heap';

interface Entry {
  /** The value as JSON text. */
  value: string;
  /** Absolute unix time in seconds; 0 = never. */
  expire: number;
}

interface Due {
  at: number;
  key: string;
  entry: Entry;
}

/** Estimated bytes of an entry besides its key and value (Map slot, entry, schedule record). */
export const ENTRY_BYTES = 80;

/** Longest delay setTimeout takes (about 24.8 days); later expiries re-arm on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The shared hash: key → value (JSON text) with an optional absolute expiry (unix seconds).
 * `bytes` estimates the memory it holds.
 *
 * An expired entry is never returned, and it is reclaimed when it falls due — a timer armed
 * for the earliest expiry removes it — not kept until someone reads it (the PHP original
 * compared the wrong way round and kept entries forever). Overwritten entries leave stale
 * records in the schedule; they are skipped when due and compacted away when they pile up.
 */
export class HashStore {
  private readonly map = new Map<string, Entry>();
  private readonly due = new Heap<Due>((a, b) => a.at < b.at);
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** Entries removed because they expired. */
  expired = 0;
  /** Estimated bytes held: keys, values and per-entry overhead. */
  bytes = 0;

  constructor(
    /** Maximum number of entries (0 = no limit). */
    public limit = 0,
    /** Seconds since the epoch; replaceable so tests and callers agree on "now". */
    private readonly now: () => number = () => Date.now() / 1000,
  ) {}

  /** Entries held right now, expired or not (count() reclaims first). */
  get stored(): number {
    return this.map.size;
  }

  /** Live entries (expired ones are reclaimed first, so the figure is exact). */
  count(): number {
    this.reclaim();
    return this.map.size;
  }

  /**
   * Bytes a set of `key` to `value` would add (negative when it shrinks an entry; an expired
   * entry counts as absent).
   */
  cost(key: string, value: string): number {
    const e = this.map.get(key);
    const now = value.length + key.length + ENTRY_BYTES;
    return e === undefined ? now : now - sizeOf(key, e);
  }

  /** false when the hash is full and `key` is not in it. An expiry in the past deletes the key. */
  set(key: string, value: string, expire: number): boolean {
    return this.setWithin(key, value, expire, Infinity) === 0;
  }

  /**
   * set() unless it would add more than `room` bytes: 0 when done, -1 when the hash is full
   * and `key` is not in it, else the bytes it would have added (nothing changed). One lookup of
   * the key for the check and the store (the hot path of a SET).
   */
  setWithin(key: string, value: string, expire: number, room: number): number {
    const old = this.map.get(key);
    const size = value.length + key.length + ENTRY_BYTES;
    const cost = old === undefined ? size : size - sizeOf(key, old);
    if (cost > 0 && cost > room) return cost;
    if (expire > 0 && expire <= this.now()) {
      this.remove(key);
      return 0;
    }
    if (old === undefined) {
      if (this.limit > 0 && this.map.size >= this.limit) {
        this.reclaim();
        if (this.map.size >= this.limit) return -1;
      }
    } else if (old.expire === 0 && expire === 0) {
      // no expiry before nor after: no schedule record refers to it, so it changes in place
      old.value = value;
      this.bytes += cost;
      return 0;
    }
    const entry: Entry = { value, expire };
    this.map.set(key, entry);
    this.bytes += cost;
    if (expire > 0) this.schedule({ at: expire, key, entry });
    return 0;
  }

  /** The live value (JSON text), or undefined. */
  get(key: string): string | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (e.expire > 0 && e.expire <= this.now()) {
      this.remove(key);
      this.expired++;
      return undefined;
    }
    return e.value;
  }

  /** true when a live entry was removed. */
  delete(key: string): boolean {
    const live = this.get(key) !== undefined;
    this.remove(key);
    return live;
  }

  private remove(key: string): void {
    const e = this.map.get(key);
    if (e === undefined) return;
    this.bytes -= sizeOf(key, e);
    this.map.delete(key);
  }

  /** Remove everything; returns how many live entries there were. */
  clear(): number {
    const n = this.count();
    this.map.clear();
    this.bytes = 0;
    this.due.clear();
    this.disarm();
    return n;
  }

  /** Stop the expiry timer (the store stays usable; the next set() re-arms it). */
  dispose(): void {
    this.disarm();
  }

  private schedule(d: Due): void {
    this.due.push(d);
    // Overwrites leave stale records; rebuild once they outnumber the live entries.
    if (this.due.size > 2 * this.map.size + 1024) this.compact();
    if (d.at < this.timerAt) this.arm();
  }

  private compact(): void {
    const items: Due[] = [];
    for (const [key, entry] of this.map) if (entry.expire > 0) items.push({ at: entry.expire, key, entry });
    this.due.rebuild(items);
  }

  /** Remove every entry that is due now. */
  reclaim(): void {
    const now = this.now();
    for (let d = this.due.peek(); d !== undefined && d.at <= now; d = this.due.peek()) {
      this.due.pop();
      if (this.map.get(d.key) === d.entry) {
        this.remove(d.key);
        this.expired++;
      }
    }
  }

  private arm(): void {
    this.disarm();
    const next = this.due.peek();
    if (next === undefined) return;
    const ms = Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil((next.at - this.now()) * 1000)));
    this.timerAt = next.at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.reclaim();
      this.arm();
    }, ms);
    // The dispatcher's listener keeps the process alive; the expiry timer alone must not.
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}

function sizeOf(key: string, e: Entry): number {
  return key.length + e.value.length + ENTRY_BYTES;
}
