import * as fc from 'fast-check';
import { until } from 'test-helpers';
import { HashStore } from '../src/store/HashStore';
import { Heap } from '../src/store/Heap';
import { type QueueItem, QueueStore, type Waiter } from '../src/store/QueueStore';

describe('Heap', () => {
  it('property: pops in order for any input', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), (xs) => {
        const h = new Heap<number>((a, b) => a < b);
        for (const x of xs) h.push(x);
        const out: number[] = [];
        for (let v = h.pop(); v !== undefined; v = h.pop()) out.push(v);
        expect(out).toEqual([...xs].sort((a, b) => a - b));
      }),
    );
  });

  it('rebuild() makes a valid heap of any array', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), (xs) => {
        const h = new Heap<number>((a, b) => a > b);
        h.rebuild([...xs]);
        const out: number[] = [];
        while (h.size > 0) out.push(h.pop() as number);
        expect(out).toEqual([...xs].sort((a, b) => b - a));
      }),
    );
  });
});

describe('HashStore', () => {
  let clock = 1_000_000;
  const store = (limit = 0) => {
    const s = new HashStore(limit, () => clock);
    stores.push(s);
    return s;
  };
  const stores: HashStore[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.dispose();
  });

  it('returns a value until its expiry, never after (the PHP check was inverted)', () => {
    const s = store();
    s.set('k', 'v', clock + 10);
    expect(s.get('k')).toBe('v');
    clock += 9.999;
    expect(s.get('k')).toBe('v');
    clock += 0.001;
    expect(s.get('k')).toBeUndefined();
    expect(s.expired).toBe(1);
  });

  it('an expiry in the past deletes the key; 0 means never', () => {
    const s = store();
    s.set('k', 'v', 0);
    s.set('gone', 'v', 0);
    s.set('gone', 'v', clock - 1);
    clock += 1e6;
    expect(s.get('k')).toBe('v');
    expect(s.get('gone')).toBeUndefined();
  });

  it('count() is exact: expired entries are reclaimed before counting', () => {
    const s = store();
    for (let i = 0; i < 10; i++) s.set(`k${i}`, i, i < 4 ? clock + 1 : 0);
    expect(s.count()).toBe(10);
    clock += 1;
    expect(s.stored).toBe(10);
    expect(s.count()).toBe(6);
    expect(s.stored).toBe(6);
  });

  it('overwriting drops the old expiry (the stale schedule record is ignored)', () => {
    const s = store();
    s.set('k', 'old', clock + 1);
    s.set('k', 'new', 0);
    clock += 2;
    s.reclaim();
    expect(s.get('k')).toBe('new');
  });

  it('stale schedule records are compacted: overwriting one key many times stays bounded', () => {
    const s = store();
    for (let i = 0; i < 10_000; i++) s.set('k', i, clock + 1000 + i);
    expect((s as unknown as { due: Heap<unknown> }).due.size).toBeLessThan(2000);
    clock += 20_000;
    expect(s.count()).toBe(0);
  });

  it('the limit counts live entries; an existing key may be overwritten when full', () => {
    const s = store(2);
    expect(s.set('a', 1, clock + 1)).toBe(true);
    expect(s.set('b', 1, 0)).toBe(true);
    expect(s.set('c', 1, 0)).toBe(false);
    expect(s.set('b', 2, 0)).toBe(true);
    clock += 1;
    expect(s.set('c', 1, 0)).toBe(true);
  });

  it('reclaims expired entries by itself, on a timer, without any read', async () => {
    const s = new HashStore(0);
    stores.push(s);
    const t = Date.now() / 1000;
    for (let i = 0; i < 100; i++) s.set(`k${i}`, i, t + 0.05 + i / 1000);
    s.set('forever', 1, 0);
    s.set('later', 1, t + 3600);
    expect(s.stored).toBe(102);
    await until(() => s.stored === 2, 3000, 'expired entries reclaimed');
    expect(s.expired).toBe(100);
  });
});

describe('QueueStore', () => {
  const waiter = (key: string, got: QueueItem[], ready = () => true): Waiter => ({ key, ready, deliver: (i) => got.push(i) });

  it('property: pops by priority, FIFO among equal priorities', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 200 }), (prios) => {
        const q = new QueueStore();
        prios.forEach((p, i) => q.push('q', i, p));
        const out: Array<[number, number]> = [];
        for (let it = q.pop('q'); it !== undefined; it = q.pop('q')) out.push([it.priority, it.value as number]);
        const expected = prios.map((p, i) => [p, i] as [number, number]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
        expect(out).toEqual(expected);
        expect(q.items).toBe(0);
      }),
    );
  });

  it('a push goes to the first ready waiter; a waiter that is not ready is skipped and served later', () => {
    const q = new QueueStore();
    const slow: QueueItem[] = [];
    const fast: QueueItem[] = [];
    let slowReady = false;
    const ws = waiter('q', slow, () => slowReady);
    q.wait(ws);
    q.wait(waiter('q', fast));
    expect(q.push('q', 'one', 0)).toBe(0);
    expect(fast.map((i) => i.value)).toEqual(['one']);
    expect(q.push('q', 'two', 0)).toBe(1);
    expect(q.serve(ws)).toBe(false);
    slowReady = true;
    expect(q.serve(ws)).toBe(true);
    expect(slow.map((i) => i.value)).toEqual(['two']);
    expect(q.blocked).toBe(0);
  });

  it('the limit is per queue, and a full queue refuses with -1', () => {
    const q = new QueueStore(1);
    expect(q.push('a', 1, 0)).toBe(1);
    expect(q.push('a', 2, 0)).toBe(-1);
    expect(q.push('b', 2, 0)).toBe(1);
    expect(q.items).toBe(2);
  });
});
