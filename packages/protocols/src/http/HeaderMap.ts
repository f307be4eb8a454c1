/**
 * Request headers with case-insensitive access. Names are stored lower-cased; a header sent
 * more than once is joined with ", " (cookies with "; "), as RFC 9110 allows for list headers.
 */
export class HeaderMap {
  private readonly map = new Map<string, string>();

  /** The value of `name` (any case), or undefined. */
  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase());
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  /** @internal add a header as received (name already lower-cased). */
  _add(lowerName: string, value: string): void {
    const prev = this.map.get(lowerName);
    if (prev === undefined) this.map.set(lowerName, value);
    else this.map.set(lowerName, `${prev}${lowerName === 'cookie' ? '; ' : ', '}${value}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** [lower-cased name, value] pairs. */
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries();
  }

  /** A plain object of lower-cased names to values. */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.map);
  }
}
