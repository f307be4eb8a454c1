/* Test helpers of the dispatcher: a dispatcher on a real listener, and a raw-bytes wire client. */
import { Listener } from '@beyod/core';
import { Handler, Parser } from '@beyod/dispatcher';
import { type Cleanup, RawClient, frame } from 'test-helpers';

export type Json = Record<string, unknown>;

/** Start a dispatcher listener on 127.0.0.1 (port 0 unless given), stopped by `cleanup`. */
export async function startDispatcher(
  cleanup: Cleanup,
  options: { handler?: Partial<Handler>; parser?: Partial<Parser>; port?: number } = {},
): Promise<{ listener: Listener; handler: Handler; port: number }> {
  const listener = Object.assign(new Listener(), {
    listen: `tcp://127.0.0.1:${options.port ?? 0}`,
    handler: { class: Handler, ...options.handler },
    parser: { class: Parser, ...options.parser },
  });
  listener.init();
  await listener.start();
  cleanup.add(listener, (l) => l.stop(0));
  return { listener, handler: listener.handlerInstance as Handler, port: listener.port };
}

/** A dispatcher, and a function connecting raw wire clients to it. */
export async function dispatcherWithWire(cleanup: Cleanup, options: Parameters<typeof startDispatcher>[1] = {}) {
  const d = await startDispatcher(cleanup, options);
  const connect = () => Wire.connect(cleanup, d.port);
  return { ...d, connect };
}

/**
 * Speaks the wire format with bytes written by hand — not the Client class — so the tests
 * pin the protocol itself.
 */
export class Wire {
  /** Frames already handed out by next(). */
  private taken = 0;
  /** Frames parsed so far, and the byte offset in `raw.received` where parsing stopped. */
  private readonly parsed: Json[] = [];
  private offset = 0;

  private constructor(readonly raw: RawClient) {}

  static async connect(cleanup: Cleanup, port: number): Promise<Wire> {
    const raw = await RawClient.connect({ host: '127.0.0.1', port });
    cleanup.add(raw, (r) => r.destroy());
    return new Wire(raw);
  }

  /** Write one packet (an object is JSON-framed; a Buffer goes as it is). */
  send(packet: Json | Buffer): void {
    this.raw.write(Buffer.isBuffer(packet) ? packet : frame(JSON.stringify(packet)));
  }

  /** Every complete frame received so far, parsed (incrementally: big streams stay linear). */
  frames(): Json[] {
    const b = this.raw.received;
    while (b.length - this.offset >= 4) {
      const n = b.readUInt32BE(this.offset);
      if (b.length - this.offset < n) break;
      this.parsed.push(JSON.parse(b.toString('utf8', this.offset + 4, this.offset + n)) as Json);
      this.offset += n;
    }
    return this.parsed;
  }

  /** The next frame not yet taken. */
  async next(ms = 2000): Promise<Json> {
    const want = this.taken + 1;
    await this.raw.waitUntil(() => this.frames().length >= want, ms, `frame #${want}`);
    this.taken = want;
    return this.parsed[want - 1] as Json;
  }

  /** The next `n` frames. */
  async take(n: number, ms = 2000): Promise<Json[]> {
    const out: Json[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(ms));
    return out;
  }

  /** Send and wait for the next frame (the answer, when nothing else is in flight). */
  async call(packet: Json, ms = 2000): Promise<Json> {
    this.send(packet);
    return this.next(ms);
  }

  /** Frames received and not taken. */
  get unread(): number {
    return this.frames().length - this.taken;
  }
}

let seq = 0;
/** A request with a fresh seq. */
export function req(command: string, fields: Json = {}): Json {
  return { command, seq: `s${++seq}`, ...fields };
}
