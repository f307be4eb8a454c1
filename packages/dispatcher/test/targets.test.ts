/* Choosing the backend from the target, and placing keys by rendezvous hashing. */
import { DispatcherErrorCodes as E, fnv1a32, parseTarget, place } from '@beyod/dispatcher';

describe('parseTarget', () => {
  it('one tcp:// (tls://, unix://) target is one beyod dispatcher', () => {
    expect(parseTarget('tcp://10.0.0.1:2491')).toEqual({ kind: 'dispatcher', url: 'tcp://10.0.0.1:2491' });
    expect(parseTarget(['unix:///run/d.sock'])).toEqual({ kind: 'dispatcher', url: 'unix:///run/d.sock' });
  });

  it('several are sharded, from a list or comma-separated, a part without scheme taking the previous one', () => {
    const urls = ['tcp://10.0.0.1:2491', 'tcp://10.0.0.2:2491', 'tcp://10.0.0.3:2491'];
    expect(parseTarget(urls)).toEqual({ kind: 'sharded', urls });
    expect(parseTarget('tcp://10.0.0.1:2491, 10.0.0.2:2491,tcp://10.0.0.3:2491')).toEqual({ kind: 'sharded', urls });
  });

  it('reads redis:// URLs: credentials, database, prefix, TLS', () => {
    expect(parseTarget('redis://127.0.0.1:6379')).toEqual({ kind: 'redis', redis: { urls: ['tcp://127.0.0.1:6379'] } });
    expect(parseTarget('rediss://app:p%40ss@cache.local/3?prefix=chat')).toEqual({
      kind: 'redis',
      redis: { urls: ['tls://cache.local:6379'], username: 'app', password: 'p@ss', db: 3, prefix: 'chat' },
    });
    expect(parseTarget('redis://:secret@[::1]:7000')).toEqual({ kind: 'redis', redis: { urls: ['tcp://[::1]:7000'], password: 'secret' } });
  });

  it('reads redis+cluster:// seeds', () => {
    expect(parseTarget('redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001/?prefix=app')).toEqual({
      kind: 'cluster',
      redis: { urls: ['tcp://10.0.0.1:7000', 'tcp://10.0.0.2:7001'], password: 'pw', prefix: 'app' },
    });
  });

  it.each([
    ['', /no target/],
    ['10.0.0.1:2491', /no scheme/],
    ['http://x:1', /unknown scheme/],
    ['tcp://a:1,redis://b:2', /cannot be mixed/],
    ['redis://a:1,redis://b:2', /redis\+cluster/],
    ['redis+cluster://a:1/2', /only database 0/],
    ['redis://a:1/x', /not a number/],
    ['tcp://a:1,tcp://a:1', /listed twice/],
  ])('refuses %j with INVALID_ARGUMENT', (target, why) => {
    expect(() => parseTarget(target)).toThrow(expect.objectContaining({ code: E.INVALID_ARGUMENT, message: expect.stringMatching(why) }));
  });
});

describe('rendezvous placement', () => {
  const nodes = ['tcp://10.0.0.1:2491', 'tcp://10.0.0.2:2491', 'tcp://10.0.0.3:2491'].map((url) => ({ url, seed: fnv1a32(url) }));
  const keys = Array.from({ length: 30000 }, (_, i) => (i % 2 ? String(65536 * (i % 50) + i) : `channel-${i}`));

  it('spreads keys evenly', () => {
    const counts = new Map<string, number>();
    for (const k of keys) {
      const at = place(k, nodes)!.url;
      counts.set(at, (counts.get(at) ?? 0) + 1);
    }
    for (const n of nodes) expect(counts.get(n.url)! / keys.length).toBeGreaterThan(0.3);
  });

  it('does not depend on the order of the list', () => {
    const reversed = [...nodes].reverse();
    expect(keys.filter((k) => place(k, reversed) !== place(k, nodes))).toEqual([]);
  });

  it('when a node goes, only its keys move; when it comes back, exactly those move home', () => {
    const survivors = nodes.filter((n) => n !== nodes[1]);
    const moved = keys.filter((k) => place(k, survivors) !== place(k, nodes));
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.filter((k) => place(k, nodes) !== nodes[1])).toEqual([]);
    expect(moved.filter((k) => !survivors.includes(place(k, survivors)!))).toEqual([]);
    expect(place('k', [])).toBeUndefined();
  });
});
