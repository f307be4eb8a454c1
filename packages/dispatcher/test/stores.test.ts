import * as fc from 'fast-check';
import { until } from 'test-helpers';
import { AuthThrottle, addressOf } from '../src/store/AuthThrottle';
import { CHANNEL_BYTES, ChannelStore, SUBSCRIPTION_BYTES, type Subscriber } from '../src/store/ChannelStore';
import { ENTRY_BYTES, HashStore } from '../src/store/HashStore';
import { Heap } from '../src/store/Heap';
import { ITEM_BYTES, QUEUE_BYTES, type QueueItem, QueueStore, type Waiter } from '../src/store/QueueStore';

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
    for (let i = 0; i < 10; i++) s.set(`k${i}`, String(i), i < 4 ? clock + 1 : 0);
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
    for (let i = 0; i < 10_000; i++) s.set('k', String(i), clock + 1000 + i);
    expect((s as unknown as { due: Heap<unknown> }).due.size).toBeLessThan(2000);
    clock += 20_000;
    expect(s.count()).toBe(0);
  });

  it('the limit counts live entries; an existing key may be overwritten when full', () => {
    const s = store(2);
    expect(s.set('a', '1', clock + 1)).toBe(true);
    expect(s.set('b', '1', 0)).toBe(true);
    expect(s.set('c', '1', 0)).toBe(false);
    expect(s.set('b', '2', 0)).toBe(true);
    clock += 1;
    expect(s.set('c', '1', 0)).toBe(true);
  });

  it('reclaims expired entries by itself, on a timer, without any read', async () => {
    const s = new HashStore(0);
    stores.push(s);
    const t = Date.now() / 1000;
    for (let i = 0; i < 100; i++) s.set(`k${i}`, String(i), t + 0.05 + i / 1000);
    s.set('forever', '1', 0);
    s.set('later', '1', t + 3600);
    expect(s.stored).toBe(102);
    await until(() => s.stored === 2, 3000, 'expired entries reclaimed');
    expect(s.expired).toBe(100);
    expect(s.bytes).toBe(2 * ENTRY_BYTES + 'forever1later1'.length);
  });

  it('bytes follow sets, overwrites, deletes, expiry and clear', () => {
    const s = store();
    s.set('a', '"xyz"', 0);
    expect(s.bytes).toBe(ENTRY_BYTES + 6);
    expect(s.cost('a', '"x"')).toBe(-2);
    s.set('a', '"x"', 0);
    expect(s.bytes).toBe(ENTRY_BYTES + 4);
    s.set('b', '1', clock + 1);
    clock += 1;
    s.reclaim();
    expect(s.bytes).toBe(ENTRY_BYTES + 4);
    s.delete('a');
    expect(s.bytes).toBe(0);
    s.set('c', '1', 0);
    s.clear();
    expect(s.bytes).toBe(0);
  });

  it('setWithin: refuses what would take more than the room (nothing changed), then overwrites with or without expiry', () => {
    const s = store();
    expect(s.setWithin('a', '"xyz"', 0, ENTRY_BYTES + 5)).toBe(ENTRY_BYTES + 6);
    expect(s.stored).toBe(0);
    expect(s.setWithin('a', '"xyz"', 0, ENTRY_BYTES + 6)).toBe(0);
    // a shrinking overwrite costs nothing: allowed with no room at all
    expect(s.setWithin('a', '"x"', 0, 0)).toBe(0);
    expect(s.get('a')).toBe('"x"');
    expect(s.bytes).toBe(ENTRY_BYTES + 4);
    // no expiry, then an expiry: the entry expires; then none again: it stays
    expect(s.setWithin('a', '"y"', clock + 1, Infinity)).toBe(0);
    expect(s.setWithin('b', '"b"', clock + 1, Infinity)).toBe(0);
    expect(s.setWithin('b', '"c"', 0, Infinity)).toBe(0);
    clock += 1;
    s.reclaim();
    expect(s.get('a')).toBeUndefined();
    expect(s.get('b')).toBe('"c"');
    expect(s.bytes).toBe(ENTRY_BYTES + 4);
  });
});

describe('QueueStore', () => {
  const waiter = (key: string, got: QueueItem[]): Waiter => ({
    key,
    bytes: 100,
    prev: undefined,
    next: undefined,
    waiting: false,
    deliver: (i) => got.push(i),
  });

  it('property: pops by priority, FIFO among equal priorities', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 200 }), (prios) => {
        const q = new QueueStore();
        prios.forEach((p, i) => q.push('q', String(i), p));
        const out: Array<[number, number]> = [];
        for (let it = q.pop('q'); it !== undefined; it = q.pop('q')) out.push([it.priority, Number(it.value)]);
        const expected = prios.map((p, i) => [p, i] as [number, number]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
        expect(out).toEqual(expected);
        expect(q.items).toBe(0);
        expect(q.bytes).toBe(0);
      }),
    );
  });

  it('property: waiters leave their line from any place in O(1); pushes serve the rest in arrival order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.nat(), { maxLength: 60 }), (n, removals) => {
        const q = new QueueStore();
        const got: QueueItem[][] = [];
        const ws = Array.from({ length: n }, (_, i) => {
          got.push([]);
          const w = waiter('q', got[i] as QueueItem[]);
          q.wait(w);
          return w;
        });
        const gone = new Set<number>();
        for (const r of removals) {
          const i = r % n;
          q.unwait(ws[i] as Waiter); // twice is harmless
          gone.add(i);
        }
        expect(q.blocked).toBe(n - gone.size);
        expect(q.bytes).toBe(100 * (n - gone.size));
        const order = [...Array(n).keys()].filter((i) => !gone.has(i));
        order.forEach((_, k) => expect(q.push('q', String(k), 0)).toBe(0));
        order.forEach((i, k) => expect(got[i]?.map((x) => x.value)).toEqual([String(k)]));
        expect(q.blocked).toBe(0);
        expect(q.push('q', 'kept', 0)).toBe(1);
      }),
    );
  });

  it('100,000 waiters of one connection leave a line of 200,000 without scanning it', () => {
    const q = new QueueStore();
    const mine: Waiter[] = [];
    for (let i = 0; i < 200_000; i++) {
      const w = waiter('q', []);
      q.wait(w);
      if (i % 2 === 0) mine.push(w);
    }
    // the old indexOf + splice made this quadratic (45 s for 300,000 in the issue)
    for (const w of mine) q.unwait(w);
    expect(q.blocked).toBe(100_000);
  });

  it('the limit is per queue, and a full queue refuses with -1', () => {
    const q = new QueueStore(1);
    expect(q.push('a', '1', 0)).toBe(1);
    expect(q.push('a', '2', 0)).toBe(-1);
    expect(q.push('b', '2', 0)).toBe(1);
    expect(q.items).toBe(2);
  });

  it('bytes count items and queues; delete and clear give them back', () => {
    const q = new QueueStore();
    expect(q.cost('a', '"v"')).toBe(3 + ITEM_BYTES + 1 + QUEUE_BYTES);
    q.push('a', '"v"', 0);
    expect(q.bytes).toBe(3 + ITEM_BYTES + 1 + QUEUE_BYTES);
    expect(q.cost('a', '"v"')).toBe(3 + ITEM_BYTES);
    q.push('a', '"w"', 0);
    q.push('b', '1', 0);
    expect(q.delete('a')).toBe(2);
    expect(q.bytes).toBe(1 + ITEM_BYTES + 1 + QUEUE_BYTES);
    q.clear();
    expect(q.bytes).toBe(0);
  });
});

describe('ChannelStore', () => {
  const sub = (): Subscriber => ({ channels: new Set<string>(), full: false });

  it('property: paging with any page size lists every channel once, while channels come and go', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 60 })), { maxLength: 80 }),
        (n, count, churn) => {
          const store = new ChannelStore<Subscriber>();
          const a = sub();
          const b = sub();
          for (let i = 0; i < n; i++) store.subscribe(a, `c${i}`);
          // the first half also has a second subscriber
          for (let i = 0; i < n / 2; i++) store.subscribe(b, `c${i}`);
          const stable = new Set(Array.from({ length: n }, (_, i) => `c${i}`));
          const seen = new Map<string, number>();
          let cursor = 0;
          let step = 0;
          for (;;) {
            const page = store.page(cursor, count);
            let listed = 0;
            for (const ch of page.channels) {
              seen.set(ch.name, (seen.get(ch.name) ?? 0) + 1);
              listed += ch.subs.length;
            }
            expect(listed).toBeLessThanOrEqual(count);
            // churn: other channels come and go between pages
            const [add, x] = churn[step++ % Math.max(1, churn.length)] ?? [true, 0];
            if (churn.length > 0) {
              if (add) store.subscribe(b, `x${x}`);
              else store.unsubscribe(b, `x${x}`);
            }
            if (page.cursor === 0) break;
            cursor = page.cursor;
          }
          for (const name of stable) expect(seen.get(name)).toBe(1);
        },
      ),
    );
  });

  it('a channel with more subscribers than a page is listed with the first ones', () => {
    const store = new ChannelStore<Subscriber>();
    const subs = Array.from({ length: 5 }, sub);
    for (const s of subs) store.subscribe(s, 'big');
    store.subscribe(subs[0] as Subscriber, 'small');
    const p1 = store.page(0, 3);
    expect(p1.channels).toEqual([{ name: 'big', subs: subs.slice(0, 3), total: 5 }]);
    const p2 = store.page(p1.cursor, 3);
    expect(p2.channels.map((c) => c.name)).toEqual(['small']);
    expect(p2.cursor).toBe(0);
  });

  it('bytes and subscriptions follow subscribe, unsubscribe and removeAll', () => {
    const store = new ChannelStore<Subscriber>();
    const [a, b] = [sub(), sub()];
    expect(store.cost(a, ['ch'])).toBe(SUBSCRIPTION_BYTES + CHANNEL_BYTES + 4);
    store.subscribe(a, 'ch');
    expect(store.cost(b, ['ch'])).toBe(SUBSCRIPTION_BYTES + 2);
    expect(store.cost(a, ['ch'])).toBe(0);
    store.subscribe(b, 'ch');
    store.subscribe(b, 'other');
    expect(store.subscriptions).toBe(3);
    store.setFull(b, true);
    expect(store.channel('ch')?.full).toBe(1);
    store.removeAll(b);
    expect(store.channel('ch')?.full).toBe(0);
    store.unsubscribe(a, 'ch');
    expect(store.subscriptions).toBe(0);
    expect(store.bytes).toBe(0);
    expect(store.size).toBe(0);
  });
});

describe('AuthThrottle', () => {
  it('blocks an address after maxFailures within blockTime, for blockTime; success clears it', () => {
    let now = 100;
    const t = new AuthThrottle(3, 10, 100, () => now);
    expect(t.fail('a')).toBe(false);
    expect(t.fail('a')).toBe(false);
    expect(t.fail('a')).toBe(true);
    expect(t.blocked('a')).toBe(10);
    expect(t.blocked('b')).toBe(0);
    now += 10;
    expect(t.blocked('a')).toBe(0);
    // failures far apart do not add up
    t.fail('b');
    t.fail('b');
    now += 11;
    expect(t.fail('b')).toBe(false);
    t.succeed('b');
    expect(t.size).toBe(0);
  });

  it('holds at most maxEntries addresses, forgetting the oldest', () => {
    const t = new AuthThrottle(3, 10, 100, () => 0);
    for (let i = 0; i < 1000; i++) t.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(t.size).toBe(100);
  });

  it('addressOf takes the address out of a peer', () => {
    expect(addressOf('10.1.2.3:4567')).toBe('10.1.2.3');
    expect(addressOf('[::1]:80')).toBe('::1');
    expect(addressOf('unix:/tmp/x.sock#3')).toBe('unix');
  });
});
