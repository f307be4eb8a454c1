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
  private start = 0;
  private end = 0;
  /** False when `buf` is a chunk we do not own (from the socket): never write into it. */
  private owned = false;

  /** Bytes held. */
  get length(): number {
    return this.end - this.start;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.buf === null || this.start === this.end) {
      this.buf = chunk;
      this.start = 0;
      this.end = n;
      this.owned = false;
      return;
    }
    if (this.owned && this.buf.length - this.end >= n) {
      chunk.copy(this.buf, this.end);
      this.end += n;
      return;
    }
    this.grow(this.length + n, chunk);
  }

  /** Make room for `total` bytes in one contiguous buffer (a known packet length). */
  reserve(total: number): void {
    const buf = this.buf;
    if (buf === null || (this.owned && buf.length - this.start >= total)) return;
    this.grow(total, null);
  }

  private grow(need: number, chunk: Buffer | null): void {
    const held = this.length;
    const next = Buffer.allocUnsafe(Math.max(need, held * 2, 4096));
    if (this.buf !== null) this.buf.copy(next, 0, this.start, this.end);
    let end = held;
    if (chunk !== null) {
      chunk.copy(next, end);
      end += chunk.length;
    }
    this.buf = next;
    this.start = 0;
    this.end = end;
    this.owned = true;
  }

  /** All held bytes, contiguous (a view, not a copy). */
  view(): Buffer {
    return this.buf === null ? EMPTY : this.buf.subarray(this.start, this.end);
  }

  /** Remove and return the first n bytes (n <= length), as a view. */
  take(n: number): Buffer {
    const buf = this.buf as Buffer;
    const out = buf.subarray(this.start, this.start + n);
    this.start += n;
    if (this.start === this.end) this.clear();
    return out;
  }

  clear(): void {
    this.buf = null;
    this.start = 0;
    this.end = 0;
    this.owned = false;
  }
}

const EMPTY = Buffer.alloc(0);
