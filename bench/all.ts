/*
 * Run the benches one after another and write each one's report block into bench/RESULTS.md.
 *
 *   npm run bench:all [-- echo,http,websocket,...]      (default: every bench, in BENCHES order)
 *
 * Each bench prints, at its end, a block between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`
 * (bench/lib.ts endReport: date, commit, machine, the exact command, how much CPU other
 * processes took during the run, the tables). That block replaces the one with the same markers
 * in RESULTS.md (or is added at the end); the rest of the file is left as it is. A bench that
 * fails leaves its old block, and is listed at the end (exit code 1).
 *
 * Run it on a quiet machine: a bench during which other processes used more than a tenth of a
 * core marks its block PROVISIONAL.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './lib';

/** npm scripts bench:NAME, in the order they run. */
const BENCHES = [
  'echo',
  'http',
  'websocket',
  'websocket-deflate',
  'dispatcher',
  'redis',
  'connections',
  'deadlines',
  'scale',
  'process',
  'handoff',
];
const RESULTS = path.join(ROOT, 'bench/RESULTS.md');

function run(name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', `bench:${name}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`bench:${name} exited with ${code}`))));
  });
}

/** The report block `name` printed, markers included; undefined when it printed none. */
export function blockOf(out: string, name: string): string | undefined {
  const start = out.lastIndexOf(`<!-- bench:${name} -->`);
  const endMark = `<!-- /bench:${name} -->`;
  const end = out.indexOf(endMark, start);
  return start < 0 || end < 0 ? undefined : out.slice(start, end + endMark.length);
}

/** `doc` with the block of `name` replaced by `block` (or `block` added at the end). */
export function withBlock(doc: string, name: string, block: string): string {
  const old = blockOf(doc, name);
  if (old !== undefined) return doc.replace(old, () => block);
  return `${doc.trimEnd()}\n\n${block}\n`;
}

async function main(): Promise<void> {
  const only = process.argv[2]?.split(',');
  const unknown = only?.filter((n) => !BENCHES.includes(n)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown bench ${unknown.join(', ')} (known: ${BENCHES.join(', ')})`);
  const failed: string[] = [];
  for (const name of only ?? BENCHES) {
    console.log(`\n===== bench:${name} =====`);
    try {
      const block = blockOf(await run(name), name);
      if (block === undefined) throw new Error(`bench:${name} printed no report block`);
      fs.writeFileSync(RESULTS, withBlock(fs.readFileSync(RESULTS, 'utf8'), name, block));
      console.log(`\nbench/RESULTS.md: section bench:${name} written`);
    } catch (e) {
      console.error((e as Error).message);
      failed.push(name);
    }
  }
  if (failed.length > 0) {
    console.error(`\nfailed (their old sections are kept): ${failed.join(', ')}`);
    process.exit(1);
  }
}

if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
