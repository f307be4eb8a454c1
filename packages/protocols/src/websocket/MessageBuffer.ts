import { unmaskInto } from './frame';

/** Largest block a message is assembled in. */
const BLOCK = 64 * 1024;
/** Smallest block: a short fragmented message does not take a 64 KiB block. */
const MIN_BLOCK = 1024;

/**
 * The payload of a message received in pieces (fragments, or a large frame read as it
 * arrives), copied — and unmasked on the way — into blocks of our own.
 *
 * Copying is what bounds the memory a peer can make a connection hold: a piece kept as a view
 * would pin the whole socket chunk it came in (up to 64 KiB for 1 byte), and a list entry per
 * fragment costs ~100 bytes of heap however small the fragment (4 M empty fragments were
 * +500 MB). Here an empty fragment costs nothing and the memory held is the payload plus less
 * than one block. Blocks grow with the bytes received (1 KiB up to 64 KiB), never with a
 * length the peer announced.
 */
export class MessageBuffer {
  /** Payload bytes held. */
  length = 0;
  private blocks: Buffer[] = [];
  private last: Buffer | null = null;
  private used = 0;

  /** Append `n` bytes of `src` from `start`, unmasked with `mask` at payload offset `pos`. */
  append(src: Buffer, start: number, n: number, mask: Buffer, pos: number): void {
    while (n > 0) {
      let last = this.last;
      if (last === null || this.used === last.length) {
        last = Buffer.allocUnsafe(Math.min(BLOCK, Math.max(MIN_BLOCK, this.length, n)));
        this.blocks.push(last);
        this.last = last;
        this.used = 0;
      }
      const k = Math.min(n, last.length - this.used);
      unmaskInto(last, this.used, src, start, k, mask, pos);
      this.used += k;
      this.length += k;
      start += k;
      pos += k;
      n -= k;
    }
  }

  /** The whole payload (one contiguous Buffer), and empty again. */
  take(): Buffer {
    const blocks = this.blocks;
    const length = this.length;
    let out: Buffer;
    if (blocks.length === 0) out = EMPTY;
    else if (blocks.length === 1) out = (blocks[0] as Buffer).subarray(0, length);
    else {
      out = Buffer.allocUnsafe(length);
      let at = 0;
      for (const b of blocks) at += b.copy(out, at, 0, Math.min(b.length, length - at));
    }
    this.clear();
    return out;
  }

  clear(): void {
    this.blocks = [];
    this.last = null;
    this.used = 0;
    this.length = 0;
  }
}

const EMPTY = Buffer.alloc(0);
