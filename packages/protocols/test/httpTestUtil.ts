import { Listener } from '@beyod/core';
import { http } from '@beyod/protocols';
import { type Cleanup, RawClient, startListener } from 'test-helpers';

/** A response read off the wire. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** The complete responses at the start of `buf` (Content-Length, chunked, or no body for 1xx/204/304/HEAD). */
export function parseResponses(buf: Buffer, headRequests = 0): WireResponse[] {
  const out: WireResponse[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) return out;
    const lines = buf.toString('latin1', at, end).split('\r\n');
    const status = Number((lines[0] ?? '').split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      const k = l.slice(0, c).toLowerCase();
      headers[k] = headers[k] === undefined ? l.slice(c + 1).trim() : `${headers[k]}, ${l.slice(c + 1).trim()}`;
    }
    let p = end + 4;
    let body: Buffer = Buffer.alloc(0);
    const noBody = status < 200 || status === 204 || status === 304 || out.length < headRequests;
    if (!noBody && headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = buf.indexOf('\r\n', p);
        if (eol < 0) return out;
        const n = parseInt(buf.toString('latin1', p, eol), 16);
        if (buf.length < eol + 2 + n + 2) return out;
        parts.push(buf.subarray(eol + 2, eol + 2 + n));
        p = eol + 2 + n + 2;
        if (n === 0) break;
      }
      body = Buffer.concat(parts);
    } else if (!noBody && headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (buf.length < p + n) return out;
      body = buf.subarray(p, p + n);
      p += n;
    }
    out.push({ status, headers, body });
    at = p;
  }
}

/** Start a listener with an http (or websocket) parser; stopped by `cleanup`. */
export async function startHttp(
  cleanup: Cleanup,
  handler: unknown,
  props: Partial<Listener> = {},
  parser: unknown = http.Parser,
): Promise<Listener> {
  return startListener(cleanup, { handler, parser, ...props });
}

export async function rawClient(cleanup: Cleanup, l: Listener): Promise<RawClient> {
  const c = await RawClient.connect({ host: '127.0.0.1', port: l.port });
  cleanup.add(c, (x) => x.destroy());
  return c;
}

/** Wait for `n` complete responses on a raw client. */
export async function responses(c: RawClient, n: number, ms = 3000, headRequests = 0): Promise<WireResponse[]> {
  await c.waitUntil((b) => parseResponses(b, headRequests).length >= n, ms, `${n} responses`);
  return parseResponses(c.received, headRequests);
}
