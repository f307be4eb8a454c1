/**
 * One deadline per connection, for the whole process, on a hashed timing wheel: arming,
 * re-arming and clearing cost a few field writes (no timer object, no allocation after a
 * connection's first deadline), and a tick visits only the deadlines that fall due in it,
 * not every connection. A deadline fires between 0 and one tick late, never early.
 *
 * Re-arming later (the common case: a keep-alive deadline pushed back by each request) only
 * updates the entry's time; the entry is moved when its old slot comes round.
 */

/** What the wheel calls back: the connection behind an entry. */
export interface DeadlineOwner {
  /** @internal the deadline fired. */
  _deadlineExpired(kind: number): void;
}

/** A connection's place on the wheel (made on its first deadline, then reused). */
export class DeadlineEntry {
  /** ms since epoch; 0 when not armed. */
  at = 0;
  kind = 0;
  /** The tick whose slot holds this entry; -1 when not on the wheel. */
  tick = -1;
  prev: DeadlineEntry | null = null;
  next: DeadlineEntry | null = null;

  constructor(readonly owner: DeadlineOwner) {}
}

export class DeadlineWheel {
  /** Entries on the wheel. */
  size = 0;
  private readonly slots: Array<DeadlineEntry | null>;
  private readonly mask: number;
  /** Last tick processed: every tick up to it has fully passed. */
  private processed = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** The tick the timer is set to process (its end); Infinity when no timer. */
  private wakeTick = Infinity;

  /**
   * @param resolution ms per tick
   * @param slotCount a power of two; deadlines further than slotCount ticks away are visited
   *   once per revolution until due
   * @param useTimer tick on a timer (false: only when _tick() is called, for tests)
   */
  constructor(
    readonly resolution = 50,
    slotCount = 512,
    private readonly useTimer = true,
  ) {
    if (!(slotCount >= 2) || (slotCount & (slotCount - 1)) !== 0) throw new RangeError(`slotCount ${slotCount} is not a power of two`);
    this.slots = new Array<DeadlineEntry | null>(slotCount).fill(null);
    this.mask = slotCount - 1;
  }

  /** Arm (or re-arm) `entry` to fire at `at` (ms since epoch) with `kind`. */
  arm(entry: DeadlineEntry, at: number, kind: number): void {
    entry.kind = kind;
    const oldTick = entry.tick;
    entry.at = at;
    if (oldTick >= 0) {
      // Later than where it sits: leave it, it is moved when that slot comes round.
      if (Math.floor(at / this.resolution) >= oldTick) return;
      this.unlink(entry);
    }
    if (this.size === 0) this.processed = Math.floor(Date.now() / this.resolution) - 1;
    this.insert(entry);
    if (entry.tick < this.wakeTick) this.wakeAt(entry.tick);
  }

  /**
   * Disarm `entry` (nothing happens if it is not armed). The timer is left as it is, even when
   * the wheel is now empty: it fires once more and finds nothing, then stops. Stopping it here
   * cost a clearTimeout and, at the next arm, a setTimeout — per request, for a connection
   * alone on its wheel whose protocol clears and re-arms a deadline per request (HTTP).
   */
  clear(entry: DeadlineEntry): void {
    entry.at = 0;
    if (entry.tick < 0) return;
    this.unlink(entry);
  }

  /**
   * Place `entry` in the slot of its tick — never a tick already processed, and never a full
   * revolution or more ahead (a far deadline goes to the last slot of this revolution and is
   * placed again when visited): so every entry in a slot is due for a visit when its slot is
   * processed, and processing a slot can pop entries from its head until it is empty.
   */
  private insert(entry: DeadlineEntry): void {
    const first = this.processed + 1;
    const tick = Math.min(Math.max(Math.floor(entry.at / this.resolution), first), first + this.mask - 1);
    const i = tick & this.mask;
    const head = this.slots[i] ?? null;
    entry.tick = tick;
    entry.prev = null;
    entry.next = head;
    if (head !== null) head.prev = entry;
    this.slots[i] = entry;
    this.size++;
  }

  private unlink(entry: DeadlineEntry): void {
    const i = entry.tick & this.mask;
    if (entry.prev !== null) entry.prev.next = entry.next;
    else this.slots[i] = entry.next;
    if (entry.next !== null) entry.next.prev = entry.prev;
    entry.prev = null;
    entry.next = null;
    entry.tick = -1;
    this.size--;
  }

  /**
   * Set the timer to the end of `tick` (when every deadline in it has passed); Infinity stops
   * it. The timer runs only when something is due: an idle wheel wakes nobody (a 50 ms
   * interval would cost ~2.7 ms of CPU per second on a VM, measured).
   */
  private wakeAt(tick: number): void {
    if (tick === this.wakeTick) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeTick = tick;
    if (tick === Infinity || !this.useTimer) return;
    this.timer = setTimeout(onTick, Math.max(0, (tick + 1) * this.resolution - Date.now()), this);
    this.timer.unref();
  }

  /** The first tick after `processed` whose slot holds entries; Infinity when empty. */
  private nextTick(): number {
    if (this.size === 0) return Infinity;
    for (let t = this.processed + 1, end = t + this.mask; t <= end; t++) if (this.slots[t & this.mask] !== null) return t;
    return Infinity;
  }

  /** @internal Fire what is due: the ticks that have fully passed. */
  _tick(now = Date.now()): void {
    this.timer = undefined;
    this.wakeTick = Infinity;
    const last = Math.floor(now / this.resolution) - 1;
    // After a long stall, one pass over every slot is enough.
    let from = this.processed + 1;
    if (last - from > this.mask) from = last - this.mask;
    for (let t = from; t <= last; t++) {
      this.processed = t;
      const i = t & this.mask;
      // Pop from the head until the slot is empty: a callback may arm or clear any entry,
      // and what it arms goes to a later tick, never back into this slot.
      let e: DeadlineEntry | null;
      while ((e = this.slots[i] ?? null) !== null) {
        this.unlink(e);
        if (e.at <= now) fire(e);
        else this.insert(e); // re-armed later since it was placed, or further than a revolution
      }
    }
    // Callbacks may have set the timer already (arming an earlier deadline); keep the earliest.
    const next = this.nextTick();
    if (next < this.wakeTick) this.wakeAt(next);
  }
}

function fire(e: DeadlineEntry): void {
  const kind = e.kind;
  e.at = 0;
  // The owner catches its own callbacks' errors; this is the last guard of a timer callback.
  try {
    e.owner._deadlineExpired(kind);
  } catch {
    /* never into uncaughtException */
  }
}

function onTick(wheel: DeadlineWheel): void {
  wheel._tick();
}

/** The process's wheel: 50 ms ticks, 512 slots (25.6 s per revolution). */
export const deadlines = new DeadlineWheel();
