import { randomBytes } from 'node:crypto';

/** A client frame (masked unless told otherwise), as a fresh Buffer (the parser unmasks in place). */
export function clientFrame(
  opcode: number,
  payload: Buffer | string = '',
  opts: { fin?: boolean; mask?: boolean; rsv?: number; len64?: boolean } = {},
): Buffer {
  const data = Buffer.from(payload);
  const mask = opts.mask ?? true;
  const n = data.length;
  const b0 = ((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode;
  let header: Buffer;
  if (n < 126 && !opts.len64) header = Buffer.from([b0, n]);
  else if (n < 0x10000 && !opts.len64) {
    header = Buffer.from([b0, 126, 0, 0]);
    header.writeUInt16BE(n, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = b0;
    header[1] = 127;
    header.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    header.writeUInt32BE(n >>> 0, 6);
  }
  if (!mask) return Buffer.concat([header, data]);
  header[1] = (header[1] as number) | 0x80;
  const key = randomBytes(4);
  const masked = Buffer.from(data);
  for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([header, key, masked]);
}

/** A handshake request for a raw socket. */
export function handshakeRequest(path = '/', extra = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

/** Server frames (unmasked) at the start of `buf`: [opcode, payload]. */
export function serverFrames(buf: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  let at = 0;
  while (buf.length - at >= 2) {
    let len = (buf[at + 1] as number) & 0x7f;
    let h = 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      h = 4;
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      len = buf.readUInt32BE(at + 6);
      h = 10;
    }
    if (buf.length - at < h + len) break;
    out.push([(buf[at] as number) & 0x0f, buf.subarray(at + h, at + h + len)]);
    at += h + len;
  }
  return out;
}
