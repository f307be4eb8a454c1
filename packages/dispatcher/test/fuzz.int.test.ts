import { COMMANDS } from '@beyod/dispatcher';
import * as fc from 'fast-check';
import { Cleanup, frame, until } from 'test-helpers';
import { Wire, req, startDispatcher } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** A request-shaped object: a real command (or junk) with fields of any JSON type. */
const requestLike = fc.record(
  {
    command: fc.oneof(fc.constantFrom(...COMMANDS), fc.string(), fc.jsonValue()),
    key: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.integer())), fc.jsonValue()),
    value: fc.jsonValue(),
    seq: fc.oneof(fc.string(), fc.integer(), fc.jsonValue()),
    expire: fc.oneof(fc.double(), fc.jsonValue()),
    priority: fc.oneof(fc.integer(), fc.jsonValue()),
    // short timeouts only: a blocked pop is forgotten when the connection closes anyway
    block: fc.boolean(),
    timeout: fc.oneof(fc.constant(0.01), fc.jsonValue()),
    loop: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

/** One thing written to the socket: a framed request, a framed JSON value, or raw bytes. */
const chunk = fc.oneof(
  { weight: 5, arbitrary: requestLike.map((o) => frame(JSON.stringify(o))) },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => frame(JSON.stringify(v) ?? '')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => frame(Buffer.from(b))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b)) },
  // a frame cut short: the server must wait for the rest
  { weight: 1, arbitrary: fc.tuple(requestLike, fc.nat()).map(([o, n]) => frame(JSON.stringify(o)).subarray(0, 4 + (n % 8))) },
);

const MAX = 64 * 1024;

/** What the server must do with `stream`: answer the last frame, close (bad length), or wait for more bytes. */
function framing(stream: Buffer, max: number): 'answer' | 'close' | 'wait' {
  let off = 0;
  while (stream.length - off >= 4) {
    const n = stream.readUInt32BE(off);
    if (n < 4 || n > max) return 'close';
    if (stream.length - off < n) return 'wait';
    off += n;
  }
  return off === stream.length ? 'answer' : 'wait';
}

describe('dispatcher: random frames and random JSON', () => {
  it('property: the server answers with well-formed frames or closes, and keeps serving others', async () => {
    const { port, handler } = await startDispatcher(cleanup, { parser: { maxPacketSize: MAX } });
    const control = await Wire.connect(cleanup, port);
    await fc.assert(
      fc.asyncProperty(fc.array(chunk, { minLength: 1, maxLength: 12 }), async (chunks) => {
        const fuzz = await Wire.connect(cleanup, port);
        const probe = req('count');
        const stream = Buffer.concat([...chunks, frame(JSON.stringify(probe))]);
        fuzz.raw.write(stream);
        const expected = framing(stream, MAX);
        if (expected === 'answer') {
          await fuzz.raw.waitUntil(() => fuzz.frames().some((f) => f.seq === probe.seq), 3000, 'the probe answered');
        } else if (expected === 'close') {
          await fuzz.raw.waitClose(3000);
        }
        for (const f of fuzz.frames()) expect(typeof f.command).toBe('string');
        expect(await control.call(req('count'))).toMatchObject({ command: 'count', code: 0 });
        // waiting for the rest of a frame it announced, not closed
        if (expected === 'wait') expect(fuzz.raw.closed).toBe(false);
        fuzz.raw.destroy();
        expect(await control.call(req('count'))).toMatchObject({ command: 'count', code: 0 });
      }),
      { numRuns: 150 },
    );
    // every fuzzing connection is gone, with its subscriptions and blocked pops
    await until(() => handler.getStats().clients === 1, 3000, 'fuzz connections removed');
    expect(handler.getStats()).toMatchObject({ subscribers: 0, blocked: 0 });
  });
});
