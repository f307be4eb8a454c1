import { Heap } from './Heap';

/** An item of a priority queue. */
export interface QueueItem {
  value: unknown;
  priority: number;
  /** Arrival order, for FIFO among equal priorities. */
  seq: number;
}

/** A blocked qpop. */
export interface Waiter {
  readonly key: string;
  /** false while the waiter cannot take an item (its connection's send buffer is full). */
  ready(): boolean;
  /** Hand it an item; the store has already removed the waiter. */
  deliver(item: QueueItem): void;
}

const before = (a: QueueItem, b: QueueItem) => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);

/**
 * Named priority queues: the highest priority comes out first, FIFO among equal priorities
 * (SplPriorityQueue in the PHP original does not promise FIFO; we do). Blocked pops wait in
 * arrival order and take an item as soon as one is pushed.
 */
export class QueueStore {
  private readonly queues = new Map<string, Heap<QueueItem>>();
  private readonly waiters = new Map<string, Waiter[]>();
  private seq = 0;
  private total = 0;

  constructor(
    /** Maximum items in one queue (0 = no limit). */
    public limit = 0,
  ) {}

  /** Items in all queues. */
  get items(): number {
    return this.total;
  }

  /** Queues holding at least one item. */
  get size(): number {
    return this.queues.size;
  }

  /** Blocked pops, over all queues. */
  get blocked(): number {
    let n = 0;
    for (const w of this.waiters.values()) n += w.length;
    return n;
  }

  /**
   * Push; a waiting pop takes the item at once. Returns the queue's length afterwards,
   * or -1 when the queue is full.
   */
  push(key: string, value: unknown, priority: number): number {
    const item: QueueItem = { value, priority, seq: ++this.seq };
    const q = this.queues.get(key);
    if (q === undefined || q.size === 0) {
      const w = this.takeWaiter(key);
      if (w !== undefined) {
        w.deliver(item);
        return 0;
      }
    }
    if (this.limit > 0 && q !== undefined && q.size >= this.limit) return -1;
    let queue = q;
    if (queue === undefined) {
      queue = new Heap(before);
      this.queues.set(key, queue);
    }
    queue.push(item);
    this.total++;
    return queue.size;
  }

  pop(key: string): QueueItem | undefined {
    const q = this.queues.get(key);
    if (q === undefined) return undefined;
    const item = q.pop();
    if (item !== undefined) this.total--;
    if (q.size === 0) this.queues.delete(key);
    return item;
  }

  count(key: string): number {
    return this.queues.get(key)?.size ?? 0;
  }

  /** Empty one queue; returns how many items it held. Its blocked pops keep waiting. */
  delete(key: string): number {
    const n = this.count(key);
    this.queues.delete(key);
    this.total -= n;
    return n;
  }

  /** Empty every queue; returns how many items there were. */
  clear(): number {
    const n = this.total;
    this.queues.clear();
    this.total = 0;
    return n;
  }

  /** Block `w` until an item arrives (the caller checked the queue was empty). */
  wait(w: Waiter): void {
    const list = this.waiters.get(w.key);
    if (list === undefined) this.waiters.set(w.key, [w]);
    else list.push(w);
  }

  /** Forget a waiter (timeout, disconnect). */
  unwait(w: Waiter): void {
    const list = this.waiters.get(w.key);
    if (list === undefined) return;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.waiters.delete(w.key);
  }

  /** Give `w` an item if its queue has one (after it was not ready for a while). */
  serve(w: Waiter): boolean {
    if (!w.ready() || this.count(w.key) === 0) return false;
    const item = this.pop(w.key) as QueueItem;
    this.unwait(w);
    w.deliver(item);
    return true;
  }

  /** The first ready waiter of `key`, removed from the list. */
  private takeWaiter(key: string): Waiter | undefined {
    const list = this.waiters.get(key);
    if (list === undefined) return undefined;
    const i = list.findIndex((w) => w.ready());
    if (i < 0) return undefined;
    const w = list[i] as Waiter;
    list.splice(i, 1);
    if (list.length === 0) this.waiters.delete(key);
    return w;
  }
}
