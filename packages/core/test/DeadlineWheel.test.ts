import { DeadlineEntry, DeadlineWheel } from '../src/DeadlineWheel';

/** An owner that records when it fired (the wheel's `now` at the time). */
class Owner {
  fired: Array<{ kind: number; at: number }> = [];
  onFire: ((kind: number) => void) | undefined;
  now = 0;
  _deadlineExpired(kind: number): void {
    this.fired.push({ kind, at: this.now });
    this.onFire?.(kind);
  }
}

describe('DeadlineWheel', () => {
  const R = 50;
  let wheel: DeadlineWheel;
  let base: number;
  let clock: number;
  const owners: Owner[] = [];
  const run = (until: number) => {
    for (; clock <= until; clock += 5) {
      for (const o of owners) o.now = clock;
      wheel._tick(clock);
    }
  };
  const entry = () => {
    const o = new Owner();
    owners.push(o);
    return { o, e: new DeadlineEntry(o) };
  };

  beforeEach(() => {
    wheel = new DeadlineWheel(R, 8, false);
    owners.length = 0;
    base = Math.ceil(Date.now() / R) * R + 10 * R;
    clock = Date.now();
  });

  it('fires never early, at most one tick late, with its kind', () => {
    const cases = [0, 1, 49, 50, 51, 120, 399, 400, 401, 1000, 5000].map((d) => ({ d, ...entry() }));
    for (const c of cases) wheel.arm(c.e, base + c.d, c.d);
    expect(wheel.size).toBe(cases.length);
    run(base + 6000);
    for (const c of cases) {
      expect(c.o.fired).toHaveLength(1);
      expect(c.o.fired[0]!.kind).toBe(c.d);
      expect(c.o.fired[0]!.at).toBeGreaterThanOrEqual(base + c.d);
      expect(c.o.fired[0]!.at).toBeLessThan(base + c.d + R + 5);
    }
    expect(wheel.size).toBe(0);
  });

  it('re-arming later (lazily) or earlier moves the deadline; clear disarms', () => {
    const later = entry();
    const earlier = entry();
    const cleared = entry();
    wheel.arm(later.e, base + 100, 1);
    wheel.arm(earlier.e, base + 3000, 1);
    wheel.arm(cleared.e, base + 100, 1);
    wheel.arm(later.e, base + 2000, 2); // pushed back: stays where it was until visited
    wheel.arm(earlier.e, base + 200, 3);
    wheel.clear(cleared.e);
    expect(cleared.e.at).toBe(0);
    run(base + 1000);
    expect(later.o.fired).toEqual([]);
    expect(earlier.o.fired).toEqual([{ kind: 3, at: expect.any(Number) }]);
    run(base + 4000);
    expect(later.o.fired.map((f) => f.kind)).toEqual([2]);
    expect(later.o.fired[0]!.at).toBeGreaterThanOrEqual(base + 2000);
    expect(cleared.o.fired).toEqual([]);
    expect(wheel.size).toBe(0);
  });

  it('a callback may re-arm itself and clear others in the same slot', () => {
    const a = entry();
    const b = entry();
    const c = entry();
    wheel.arm(a.e, base + 100, 1);
    wheel.arm(b.e, base + 100, 1);
    wheel.arm(c.e, base + 100, 1);
    a.o.onFire = () => {
      wheel.clear(b.e);
      wheel.clear(c.e);
      if (a.o.fired.length < 3) wheel.arm(a.e, a.o.now, 9); // due at once: fires next tick
    };
    b.o.onFire = () => {
      wheel.clear(a.e);
      wheel.clear(c.e);
      if (b.o.fired.length < 3) wheel.arm(b.e, b.o.now, 9);
    };
    c.o.onFire = b.o.onFire;
    run(base + 1000);
    // whichever fired first cleared the others; it re-armed itself twice, one tick apart
    const fired = [a, b, c].filter((x) => x.o.fired.length > 0);
    expect(fired).toHaveLength(1);
    expect(fired[0]!.o.fired.map((f) => f.kind)).toEqual([1, 9, 9]);
    expect(wheel.size).toBe(0);
  });

  it('after a stall longer than a revolution every due deadline fires once', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ i, ...entry() }));
    for (const m of many) wheel.arm(m.e, base + m.i * 37, 0);
    clock = base + 10_000;
    for (const o of owners) o.now = clock;
    wheel._tick(clock);
    for (const m of many) expect(m.o.fired).toHaveLength(1);
    expect(wheel.size).toBe(0);
  });

  it('a throwing owner does not stop the others', () => {
    const bad = entry();
    const good = entry();
    bad.o.onFire = () => {
      throw new Error('boom');
    };
    wheel.arm(bad.e, base + 10, 0);
    wheel.arm(good.e, base + 10, 0);
    run(base + 200);
    expect(good.o.fired).toHaveLength(1);
  });
});
