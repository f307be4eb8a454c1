/**
 * The bytes a connection has received and not yet consumed: a contiguous *head* region that
 * the parser looks at, then the chunks received after it, kept as they came (views, no copy).
 *
 * - A chunk that arrives into an empty buffer becomes the head as it is: whole packets inside
 *   one chunk are parsed in place and never copied.
 * - Memory follows the bytes received, never a declared length: while a packet's announced
 *   length has not all arrived, its chunks are only kept in the list; the packet is gathered
 *   into one buffer of its own size once all its bytes are here (gather()).
 * - Only a packet that spans chunks is copied, and only it: the rest of the last chunk stays a
 *   view (the ws receiver's consume() does the same). When the parser needs more bytes
 *   before it can tell a length (input() returned 0), a bounded, growing prefix of the next
 *   chunk is appended to the head (extend()) — not the whole chunk — so a header cut by a
 *   chunk boundary costs a few dozen bytes of copying, and a long line spanning many chunks
 *   is still copied O(1) times per byte (the head grows geometrically).
 *
 * Memory handed out by take() is never written again, so a packet stays valid after later
 * reads. `ReceiveBuffer.bytesCopied` counts every byte copied (tests and benches read it).
 */
export class ReceiveBuffer {
  /** Bytes copied by every ReceiveBuffer of this process. */
  static bytesCopied = 0;

  private buf: Buffer | null = null;
  private begin = 0;
  private stop = 0;
  /** True when `buf` is ours (allocated here): bytes may be appended past `stop`. */
  private owned = false;
  /** Chunks received after the head, in order (the first may start at `next`). */
  private chunks: Buffer[] | null = null;
  private next = 0;
  /** Bytes held in `chunks` (from `next` on). */
  private queued = 0;

  /** Bytes held. */
  get length(): number {
    return this.stop - this.begin + this.queued;
  }

  /** Bytes in the head: what view() / raw[start, end) show. */
  get contiguous(): number {
    return this.stop - this.begin;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.buf === null) {
      this.buf = chunk;
      this.begin = 0;
      this.stop = n;
      this.owned = false;
      return;
    }
    (this.chunks ??= []).push(chunk);
    this.queued += n;
  }

  /**
   * The parser needs more than the head holds (and more is queued): append a prefix of the
   * queued bytes — at least 64 bytes or as much as the head holds (so repeated calls grow it
   * geometrically), at most what is queued.
   */
  extend(): void {
    const held = this.contiguous;
    this.append(Math.min(this.queued, Math.max(64, held)), Math.max(held * 2, 256));
  }

  /** Make the head hold at least `n` bytes (n <= length): the packet at the head is complete. */
  gather(n: number): void {
    const held = this.contiguous;
    if (held >= n) return;
    this.append(n - held, n);
  }

  /** Move `k` queued bytes to the end of the head; a new head buffer gets `capacity` bytes. */
  private append(k: number, capacity: number): void {
    if (k <= 0) return;
    const held = this.stop - this.begin;
    let buf = this.buf as Buffer;
    if (!this.owned || buf.length - this.stop < k) {
      const next = Buffer.allocUnsafe(Math.max(capacity, held + k));
      ReceiveBuffer.bytesCopied += buf.copy(next, 0, this.begin, this.stop);
      buf = next;
      this.buf = next;
      this.begin = 0;
      this.stop = held;
      this.owned = true;
    }
    const chunks = this.chunks as Buffer[];
    let left = k;
    while (left > 0) {
      const c = chunks[0] as Buffer;
      const avail = c.length - this.next;
      const m = avail <= left ? avail : left;
      c.copy(buf, this.stop, this.next, this.next + m);
      this.stop += m;
      left -= m;
      if (m === avail) {
        chunks.shift();
        this.next = 0;
      } else {
        this.next += m;
      }
    }
    this.queued -= k;
    ReceiveBuffer.bytesCopied += k;
  }

  /** The head, contiguous (a view, not a copy). */
  view(): Buffer {
    return this.buf === null ? EMPTY : this.buf.subarray(this.begin, this.stop);
  }

  /** The buffer holding the head, and where it starts and ends in it (for inputAt/decodeAt). */
  get raw(): Buffer {
    return this.buf ?? EMPTY;
  }

  get start(): number {
    return this.begin;
  }

  get end(): number {
    return this.stop;
  }

  /** Drop the first n bytes (n <= contiguous). */
  skip(n: number): void {
    this.begin += n;
    if (this.begin === this.stop) this.advance();
  }

  /** Remove and return the first n bytes (n <= contiguous), as a view. */
  take(n: number): Buffer {
    const buf = this.buf as Buffer;
    const out = buf.subarray(this.begin, this.begin + n);
    this.begin += n;
    if (this.begin === this.stop) this.advance();
    return out;
  }

  /** The head is used up: the next queued chunk (what is left of it) becomes the head. */
  private advance(): void {
    const chunks = this.chunks;
    if (chunks === null || chunks.length === 0) {
      this.buf = null;
      this.begin = 0;
      this.stop = 0;
      this.owned = false;
      this.chunks = null;
      return;
    }
    const c = chunks.shift() as Buffer;
    this.buf = c;
    this.begin = this.next;
    this.stop = c.length;
    this.owned = false;
    this.queued -= c.length - this.next;
    this.next = 0;
    if (chunks.length === 0) this.chunks = null;
  }

  /** Every byte held, in order, in one buffer (a copy); the buffer is left as it is. */
  copyAll(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    let o = this.buf === null ? 0 : this.buf.copy(out, 0, this.begin, this.stop);
    const chunks = this.chunks;
    if (chunks !== null) {
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i] as Buffer;
        o += c.copy(out, o, i === 0 ? this.next : 0);
      }
    }
    return out;
  }

  clear(): void {
    this.buf = null;
    this.begin = 0;
    this.stop = 0;
    this.owned = false;
    this.chunks = null;
    this.next = 0;
    this.queued = 0;
  }
}

const EMPTY = Buffer.alloc(0);
