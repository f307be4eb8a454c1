/** Up to this many distinct names a HeaderMap is a flat list searched in order; past it, a Map. */
const SMALL = 24;

/**
 * Request headers with case-insensitive access. Names are stored lower-cased; a header sent
 * more than once is joined with ", " (cookies with "; "), as RFC 9110 allows for list headers.
 *
 * Most requests carry a handful of headers: they are kept as [name, value, name, value, …] in
 * one array (a Map per request was a measurable share of a small request's cost), and moved
 * to a Map when a request has many, so a head of thousands of fields costs no more per field.
 */
export class HeaderMap {
  private list: string[] | null = null;
  private map: Map<string, string> | null = null;

  /** The value of `name` (any case), or undefined. */
  get(name: string): string | undefined {
    return this.find(name.toLowerCase());
  }

  has(name: string): boolean {
    return this.find(name.toLowerCase()) !== undefined;
  }

  /** @internal get() of a name already lower-cased. */
  _get(lower: string): string | undefined {
    return this.find(lower);
  }

  private find(lower: string): string | undefined {
    if (this.map !== null) return this.map.get(lower);
    const list = this.list;
    if (list === null) return undefined;
    for (let i = 0; i < list.length; i += 2) if (list[i] === lower) return list[i + 1];
    return undefined;
  }

  /** @internal add a header as received (name already lower-cased). */
  _add(lowerName: string, value: string): void {
    const map = this.map;
    if (map !== null) {
      const prev = map.get(lowerName);
      map.set(lowerName, prev === undefined ? value : join(lowerName, prev, value));
      return;
    }
    const list = (this.list ??= []);
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === lowerName) {
        list[i + 1] = join(lowerName, list[i + 1]!, value);
        return;
      }
    }
    if (list.length < SMALL * 2) {
      list.push(lowerName, value);
      return;
    }
    const m = new Map<string, string>();
    for (let i = 0; i < list.length; i += 2) m.set(list[i]!, list[i + 1]!);
    m.set(lowerName, value);
    this.map = m;
    this.list = null;
  }

  get size(): number {
    return this.map !== null ? this.map.size : (this.list?.length ?? 0) >> 1;
  }

  /** [lower-cased name, value] pairs, in the order the names first came. */
  *entries(): IterableIterator<[string, string]> {
    if (this.map !== null) {
      yield* this.map.entries();
      return;
    }
    const list = this.list;
    if (list === null) return;
    for (let i = 0; i < list.length; i += 2) yield [list[i]!, list[i + 1]!];
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** A plain object of lower-cased names to values. */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.entries());
  }
}

function join(lowerName: string, prev: string, value: string): string {
  return `${prev}${lowerName === 'cookie' ? '; ' : ', '}${value}`;
}
