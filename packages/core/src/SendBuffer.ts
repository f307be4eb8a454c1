import { utf8Write } from './bytes';

/** Buffers at least this large are written as they are; smaller ones are copied together. */
export const JOIN_LIMIT = 16 * 1024;
/**
 * Smallest accumulation buffer. Buffer.allocUnsafe slices Node's shared 8 KiB pool for sizes
 * under 4 KiB; a fresh pool costs a native allocation, so a turn takes about what the last one
 * sent (a 4000-byte minimum took half a pool per turn: a tenth of a small WebSocket echo's time).
 */
const MIN_ACC = 256;
/** Smallest buffer once a turn has outgrown its first one. */
const GROW_ACC = 4000;
const MAX_ACC = 64 * 1024;

/**
 * The bytes a connection sends in one event-loop turn. Small messages are copied, as they are
 * sent, into one accumulation buffer, so a turn's worth goes out in one write system call
 * without a buffer (or array) per message; large ones are kept by reference, never copied.
 * Bytes handed out by take() are never written again.
 */
export class SendBuffer {
  /** Bytes held. */
  length = 0;
  private acc: Buffer | null = null;
  /** acc[segStart, accLen) is the part not yet sealed into `parts`. */
  private segStart = 0;
  private accLen = 0;
  /** Sealed pieces, in order (made when a turn sends more than one string). */
  private parts: Buffer[] | null = null;
  /**
   * A turn's first small string, kept as it is until something else is sent in the same turn:
   * a lone string goes to the socket as a string (written from a stack buffer by libuv), so the
   * common one-answer turn allocates no Buffer at all.
   */
  private first: string | null = null;

  /** @param lastTurn bytes sent in the connection's last turn, to size the accumulation buffer */
  constructor(lastTurn = 0) {
    this.lastTurn = lastTurn;
  }
  /** Bytes sent in the last turn: sizes the next accumulation buffer. */
  private lastTurn: number;

  appendBuffer(b: Buffer): void {
    const n = b.length;
    if (n === 0) return;
    if (this.first !== null) this.spill();
    if (n >= JOIN_LIMIT) {
      this.seal();
      (this.parts ??= []).push(b);
    } else {
      this.reserve(n);
      b.copy(this.acc as Buffer, this.accLen);
      this.accLen += n;
    }
    this.length += n;
  }

  appendString(s: string): void {
    const worst = s.length * 3; // UTF-8 bytes per UTF-16 unit, at most
    if (this.length === 0 && worst < JOIN_LIMIT) {
      this.first = s;
      this.length = Buffer.byteLength(s, 'utf8');
      return;
    }
    if (this.first !== null) this.spill();
    if (worst >= JOIN_LIMIT) {
      this.appendBuffer(Buffer.from(s, 'utf8'));
      return;
    }
    this.reserve(worst);
    const n = utf8Write(this.acc as Buffer, s, this.accLen);
    this.accLen += n;
    this.length += n;
  }

  /** A 2-byte unsigned big-endian integer (a frame header), without a Buffer of its own. */
  appendUInt16BE(v: number): void {
    if (this.first !== null) this.spill();
    this.reserve(2);
    const acc = this.acc as Buffer;
    const i = this.accLen;
    acc[i] = (v >>> 8) & 0xff;
    acc[i + 1] = v & 0xff;
    this.accLen = i + 2;
    this.length += 2;
  }

  /** A 4-byte unsigned big-endian integer (a length header), without a Buffer of its own. */
  appendUInt32BE(v: number): void {
    if (this.first !== null) this.spill();
    this.reserve(4);
    const acc = this.acc as Buffer;
    const i = this.accLen;
    acc[i] = v >>> 24;
    acc[i + 1] = (v >>> 16) & 0xff;
    acc[i + 2] = (v >>> 8) & 0xff;
    acc[i + 3] = v & 0xff;
    this.accLen = i + 4;
    this.length += 4;
  }

  /**
   * A 4-byte unsigned big-endian length — the UTF-8 bytes of `s` plus `add` — then `s`: a
   * length-prefixed text frame in one pass over the string (no Buffer.byteLength first).
   */
  appendLengthAndString(s: string, add: number): void {
    const worst = s.length * 3;
    if (worst >= JOIN_LIMIT) {
      const b = Buffer.from(s, 'utf8');
      this.appendUInt32BE(b.length + add);
      this.appendBuffer(b);
      return;
    }
    if (this.first !== null) this.spill();
    this.reserve(4 + worst);
    const acc = this.acc as Buffer;
    const i = this.accLen;
    const n = utf8Write(acc, s, i + 4);
    const v = n + add;
    acc[i] = v >>> 24;
    acc[i + 1] = (v >>> 16) & 0xff;
    acc[i + 2] = (v >>> 8) & 0xff;
    acc[i + 3] = v & 0xff;
    this.accLen = i + 4 + n;
    this.length += 4 + n;
  }

  /** Something else follows the turn's first string: copy it into the accumulation buffer. */
  private spill(): void {
    const s = this.first as string;
    this.first = null;
    this.reserve(s.length * 3);
    this.accLen += utf8Write(this.acc as Buffer, s, this.accLen);
  }

  private reserve(n: number): void {
    const acc = this.acc;
    if (acc !== null && acc.length - this.accLen >= n) return;
    this.seal();
    // The turn's first buffer: room for what the last turn sent and a quarter more (turns of a
    // connection look alike). A turn that outgrows it sends more than usual: grow faster.
    const size = acc === null ? this.lastTurn + (this.lastTurn >> 2) : Math.max(GROW_ACC, this.length * 2);
    this.acc = Buffer.allocUnsafe(Math.max(MIN_ACC, n, Math.min(size, MAX_ACC)));
    this.segStart = 0;
    this.accLen = 0;
  }

  private seal(): void {
    if (this.acc !== null && this.accLen > this.segStart) {
      (this.parts ??= []).push(this.acc.subarray(this.segStart, this.accLen));
      this.segStart = this.accLen;
    }
  }

  /** When all it holds is one string (the common one-answer turn): that string, and it is empty after. Else null. */
  takeString(): string | null {
    const s = this.first;
    if (s === null) return null;
    this.first = null;
    this.lastTurn = this.length;
    this.length = 0;
    return s;
  }

  /** Everything held, in order, as few pieces as possible; the buffer is empty after. */
  take(): Array<Buffer | string> {
    if (this.first !== null) {
      const s = this.first;
      this.first = null;
      this.lastTurn = this.length;
      this.length = 0;
      return [s];
    }
    this.seal();
    const parts = this.parts ?? [];
    this.lastTurn = this.length;
    this.parts = null;
    this.length = 0;
    // let the accumulation buffer go with the data: an idle connection holds no memory
    this.acc = null;
    return parts;
  }

  clear(): void {
    this.first = null;
    this.parts = null;
    this.length = 0;
    this.acc = null;
  }
}
