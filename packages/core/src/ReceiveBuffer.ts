/**
 * The bytes a connection has received and not yet consumed.
 *
 * A chunk that arrives into an empty buffer is used as it is (no copy): the common case of
 * whole packets inside one chunk never copies. Leftover bytes go into a buffer that grows
 * geometrically and is only ever appended to, so each byte is copied O(1) times (amortized)
 * however many chunks a big packet spans — no Buffer.concat of everything on every chunk.
 * Memory handed out by take() is never written again, so a packet stays valid after later
 * reads.
 */
export class ReceiveBuffer {
  private buf: Buffer | null = null;
  private begin = 0;
  private stop = 0;
  /** False when `buf` is a chunk we do not own (from the socket): never write into it. */
  private owned = false;

  /** Bytes held. */
  get length(): number {
    return this.stop - this.begin;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.buf === null || this.begin === this.stop) {
      this.buf = chunk;
      this.begin = 0;
      this.stop = n;
      this.owned = false;
      return;
    }
    if (this.owned && this.buf.length - this.stop >= n) {
      chunk.copy(this.buf, this.stop);
      this.stop += n;
      return;
    }
    this.grow(this.length + n, chunk);
  }

  /** Make room for `total` bytes in one contiguous buffer (a known packet length). */
  reserve(total: number): void {
    const buf = this.buf;
    if (buf === null || (this.owned && buf.length - this.begin >= total)) return;
    this.grow(total, null);
  }

  private grow(need: number, chunk: Buffer | null): void {
    const held = this.length;
    const next = Buffer.allocUnsafe(Math.max(need, held * 2, 4096));
    if (this.buf !== null) this.buf.copy(next, 0, this.begin, this.stop);
    let end = held;
    if (chunk !== null) {
      chunk.copy(next, end);
      end += chunk.length;
    }
    this.buf = next;
    this.begin = 0;
    this.stop = end;
    this.owned = true;
  }

  /** All held bytes, contiguous (a view, not a copy). */
  view(): Buffer {
    return this.buf === null ? EMPTY : this.buf.subarray(this.begin, this.stop);
  }

  /** The buffer holding the bytes, and where they start and end in it (for inputAt/decodeAt). */
  get raw(): Buffer {
    return this.buf ?? EMPTY;
  }

  get start(): number {
    return this.begin;
  }

  get end(): number {
    return this.stop;
  }

  /** Drop the first n bytes (n <= length). */
  skip(n: number): void {
    this.begin += n;
    if (this.begin === this.stop) this.clear();
  }

  /** Remove and return the first n bytes (n <= length), as a view. */
  take(n: number): Buffer {
    const buf = this.buf as Buffer;
    const out = buf.subarray(this.begin, this.begin + n);
    this.begin += n;
    if (this.begin === this.stop) this.clear();
    return out;
  }

  clear(): void {
    this.buf = null;
    this.begin = 0;
    this.stop = 0;
    this.owned = false;
  }
}

const EMPTY = Buffer.alloc(0);
