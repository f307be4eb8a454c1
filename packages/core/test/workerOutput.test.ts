import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { collectWorkerOutput } from '../src/process/workerOutput';

/** Run `script` in a real child with the worker's pipes, and collect what reaches the master's log. */
async function run(script: string): Promise<Array<Record<string, unknown>>> {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'pipe'] });
  let out = '';
  collectWorkerOutput(child, 7, { write: (lines) => (out += lines) });
  await once(child, 'close');
  expect(out.endsWith('\n')).toBe(true);
  return out
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('collectWorkerOutput: one record per line, whatever a worker prints', () => {
  test('log records pass through as they are; printed lines become records with stream, workerId, pid', async () => {
    const got = await run(`
      const fs = require('fs');
      fs.writeSync(4, '{"level":30,"msg":"a record"}\\n{"level":40,"msg":"another"}\\n');
      console.log('plain %s', 'text');
      console.error('on stderr');
    `);
    expect(got).toEqual(
      expect.arrayContaining([
        { level: 30, msg: 'a record' },
        { level: 40, msg: 'another' },
        expect.objectContaining({ level: 30, workerId: 7, stream: 'stdout', msg: 'plain text', pid: expect.any(Number) }),
        expect.objectContaining({ level: 40, workerId: 7, stream: 'stderr', msg: 'on stderr' }),
      ]),
    );
    expect(got).toHaveLength(4);
  });

  test('lines written in pieces, CRLF endings, multi-byte characters cut across writes, empty lines', async () => {
    const got = await run(`
      const fs = require('fs');
      const euro = Buffer.from('€');
      fs.writeSync(1, Buffer.concat([Buffer.from('price: 5'), euro.subarray(0, 1)]));
      setTimeout(() => {
        fs.writeSync(1, Buffer.concat([euro.subarray(1), Buffer.from('\\r\\n\\n\\nsecond')]));
        setTimeout(() => fs.writeSync(1, ' half\\n'), 20);
      }, 20);
    `);
    expect(got.map((r) => r.msg)).toEqual(['price: 5€', 'second half']);
  });

  test('a line without an end is cut at 64 KiB and marked truncated; the last piece is kept when the pipe closes', async () => {
    const got = await run(`process.stdout.write('x'.repeat(150 * 1024));`);
    expect(got.map((r) => (r.msg as string).length)).toEqual([65536, 65536, 150 * 1024 - 2 * 65536]);
    expect(got.every((r) => r.truncated === true && r.stream === 'stdout')).toBe(true);
  });

  test('a record channel that breaks off mid-record is not passed on as half a JSON line', async () => {
    const got = await run(`require('fs').writeSync(4, '{"level":30,"msg":"whole"}\\n{"level":30,"ms');`);
    expect(got[0]).toEqual({ level: 30, msg: 'whole' });
    expect(got[1]).toMatchObject({ stream: 'log', truncated: true, msg: '{"level":30,"ms' });
  });
});
