interface Record_ {
  failures: number;
  /** Seconds (performance clock) of the last failure. */
  last: number;
  /** Until when auth from this address is refused; 0 = not blocked. */
  blockedUntil: number;
}

/**
 * Failed `auth` attempts per peer address. After `maxFailures` failures (each within
 * `blockTime` of the previous one), auth from that address is refused for `blockTime` seconds,
 * even with the right token, so a token cannot be guessed at network speed. A success clears
 * the address. The table holds at most `maxEntries` addresses (the oldest is forgotten first),
 * so a flood of addresses cannot grow it without bound.
 */
export class AuthThrottle {
  private readonly table = new Map<string, Record_>();

  constructor(
    public maxFailures = 10,
    /** Seconds. */
    public blockTime = 60,
    public maxEntries = 10000,
    /** Seconds on a monotonic clock; replaceable for tests. */
    private readonly now: () => number = () => performance.now() / 1000,
  ) {}

  /** Addresses tracked right now. */
  get size(): number {
    return this.table.size;
  }

  /** Seconds `address` must still wait before trying again (0 = it may try now). */
  blocked(address: string): number {
    const r = this.table.get(address);
    if (r === undefined || r.blockedUntil === 0) return 0;
    const left = r.blockedUntil - this.now();
    if (left > 0) return left;
    this.table.delete(address);
    return 0;
  }

  /** Count a failure; true when `address` is blocked from now on. */
  fail(address: string): boolean {
    if (this.maxFailures <= 0) return false;
    const now = this.now();
    let r = this.table.get(address);
    if (r !== undefined && now - r.last > this.blockTime) {
      this.table.delete(address);
      r = undefined;
    }
    if (r === undefined) {
      if (this.table.size >= this.maxEntries) {
        const oldest = this.table.keys().next().value;
        if (oldest !== undefined) this.table.delete(oldest);
      }
      r = { failures: 0, last: now, blockedUntil: 0 };
      this.table.set(address, r);
    }
    r.failures++;
    r.last = now;
    if (r.failures < this.maxFailures) return false;
    r.blockedUntil = now + this.blockTime;
    return true;
  }

  succeed(address: string): void {
    this.table.delete(address);
  }
}

/** The address part of a peer ("1.2.3.4:5678" → "1.2.3.4", "[::1]:80" → "::1"). */
export function addressOf(peer: string): string {
  if (peer.startsWith('unix:')) return 'unix';
  const colon = peer.lastIndexOf(':');
  const host = colon > 0 ? peer.slice(0, colon) : peer;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
