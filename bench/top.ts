/*
 * The top entries of a V8 CPU profile (node --cpu-prof; the benches write one with --profile DIR):
 * self time per function (where the time is spent) and total time (with what it calls), as
 * shares of the profile's busy time (idle and the garbage collector are listed apart).
 *
 *   node -r ./packages/cli/register.js bench/top.ts <file.cpuprofile> [entries=25]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, nArg = '25'] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: bench/top.ts <file.cpuprofile> [entries]');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// time per node: the sample's delta goes to the node sampled
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const ROOT = path.resolve(__dirname, '..');
function label(n: Node): string {
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  if (f.url === '') return name;
  const url = f.url.replace(/^file:\/\//, '');
  const short = url.startsWith(ROOT) ? path.relative(ROOT, url) : url.replace(/^node:/, 'node:');
  return `${name} ${short}:${f.lineNumber + 1}`;
}

const selfBy = new Map<string, number>();
const totalBy = new Map<string, number>();
let busy = 0;
let idle = 0;
let gc = 0;
for (const [id, t] of self) {
  const n = byId.get(id)!;
  const name = n.callFrame.functionName;
  if (name === '(idle)' || name === '(program)') {
    idle += t;
    continue;
  }
  if (name === '(garbage collector)') gc += t;
  busy += t;
  const l = label(n);
  selfBy.set(l, (selfBy.get(l) ?? 0) + t);
  // total: once per distinct function on the stack
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur)!);
    if (seen.has(k)) continue;
    seen.add(k);
    totalBy.set(k, (totalBy.get(k) ?? 0) + t);
  }
}

const n = Number(nArg);
const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
console.log(`${path.basename(file)}: busy ${(busy / 1e6).toFixed(2)} s (garbage collector ${pct(gc)}), idle ${(idle / 1e6).toFixed(2)} s`);
console.log('\nself time');
for (const [k, t] of [...selfBy].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(t)}  ${k}`);
console.log('\ntotal time (with callees)');
for (const [k, t] of [...totalBy]
  .filter(([k]) => k !== '(root)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, n))
  console.log(`${pct(t)}  ${k}`);
