/*
 * npm run conformance:websocket [-- --cases "1.* 2.*"] [--out DIR] [--jobs N] [--no-doc]
 *
 * Runs the Autobahn|Testsuite (fuzzingclient) against the project's WebSocket echo (beyod
 * start --single, scripts/conformance-websocket/config/main.ts) and the `ws` echo
 * (scripts/conformance-websocket/ws-echo.ts), both with permessage-deflate on, prints the
 * per-section table side by side, and rewrites the table in docs/websocket.md (between the
 * autobahn markers) unless --no-doc or a subset of cases is given. Exit code 1 when a case
 * FAILED for beyod. The suite's Python client is what takes the time (minutes per section of
 * 12 and 13): the cases are shared between `--jobs` fuzzing clients per server (default 2),
 * all running at once, each on a group of sections of similar cost.
 *
 * The suite is not in this repository: it is expected in ../shared/conformance/autobahn
 * (relative to the repository root; Python 2.7 and vendored dependencies, see its README), or
 * where AUTOBAHN_DIR says. It takes minutes (sections 9, 12 and 13 most); section 9's timings
 * depend on the machine's load.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const HERE = path.join(ROOT, 'scripts', 'conformance-websocket');
const DOC = path.join(ROOT, 'docs', 'websocket.md');
const BEGIN = '<!-- autobahn:begin (written by npm run conformance:websocket) -->';
const END = '<!-- autobahn:end -->';
// Sections 1-7, 9, 10, 12 and 13; 12 and 13 by subsection, so they can be shared out.
const ALL_CASES =
  '1.* 2.* 3.* 4.* 5.* 6.* 7.* 9.* 10.* 12.1.* 12.2.* 12.3.* 12.4.* 12.5.* 13.1.* 13.2.* 13.3.* 13.4.* 13.5.* 13.6.* 13.7.*';
const KINDS = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'FAILED'] as const;
const SECTIONS: Record<string, string> = {
  '1': 'Framing',
  '2': 'Pings/Pongs',
  '3': 'Reserved bits',
  '4': 'Opcodes',
  '5': 'Fragmentation',
  '6': 'UTF-8 handling',
  '7': 'Close handling',
  '9': 'Limits/performance',
  '10': 'Miscellaneous',
  '12': 'Compression (payloads)',
  '13': 'Compression (parameters)',
};
const AGENTS = ['beyod', 'ws'] as const;

interface CaseResult {
  behavior: string;
  behaviorClose: string;
  duration: number;
  reportfile: string;
}
type Index = Record<string, Record<string, CaseResult>>;

function args(): { cases: string; out: string; doc: boolean; jobs: number } {
  const argv = process.argv.slice(2);
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const cases = get('--cases') ?? ALL_CASES;
  const out = path.resolve(get('--out') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'beyod-autobahn-')));
  const jobs = Math.max(1, Number(get('--jobs') ?? 2) | 0);
  return { cases, out, doc: !argv.includes('--no-doc') && cases === ALL_CASES, jobs };
}

function findAutobahn(): string {
  const dir = path.resolve(process.env.AUTOBAHN_DIR ?? path.join(ROOT, '..', 'shared', 'conformance', 'autobahn'));
  if (!fs.existsSync(path.join(dir, 'run_autobahn.sh'))) {
    console.error(
      `conformance:websocket: the Autobahn|Testsuite was not found at ${dir} (no run_autobahn.sh).\n` +
        'It is expected next to the repository, in ../shared/conformance/autobahn (see docs/websocket.md,\n' +
        '"Conformance"); or set AUTOBAHN_DIR to where it is.',
    );
    process.exit(2);
  }
  return dir;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Resolves once something accepts connections on `port`; fails after `ms`. */
async function listening(port: number, child: ChildProcess, name: string, ms = 30000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited (code ${child.exitCode}) before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} is not listening on ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(name: string, cmd: string[], env: NodeJS.ProcessEnv, log: string): ChildProcess {
  const out = fs.openSync(log, 'w');
  const child = spawn(process.execPath, cmd, { cwd: ROOT, env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`${name} exited unexpectedly (code ${code}, signal ${signal}); its output is in ${log}`);
  });
  return child;
}

let stopping = false;

function cell(results: CaseResult[]): string {
  const count = (kind: string) => results.filter((r) => r.behavior === kind).length;
  const parts = KINDS.filter((k) => count(k) > 0).map((k) => `${count(k)} ${k}`);
  const other = results.filter((r) => !(KINDS as readonly string[]).includes(r.behavior)).length;
  if (other > 0) parts.push(`${other} other`);
  const badClose = results.filter((r) => !['OK', 'INFORMATIONAL'].includes(r.behaviorClose));
  if (badClose.length > 0) parts.push(`close: ${badClose.map((r) => r.behaviorClose).join(', ')}`);
  return parts.join(', ');
}

function sectionOf(id: string): string {
  return id.split('.')[0] as string;
}

function byCase(a: string, b: string): number {
  const x = a.split('.').map((v) => (v === '*' ? 0 : Number(v)));
  const y = b.split('.').map((v) => (v === '*' ? 0 : Number(v)));
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function table(index: Index): { text: string; failed: Map<string, string[]> } {
  const sections = [...new Set(AGENTS.flatMap((a) => Object.keys(index[a] ?? {}).map(sectionOf)))].sort((a, b) => Number(a) - Number(b));
  const rows = ['| section | cases | beyod | ws |', '|---|---|---|---|'];
  for (const s of sections) {
    const of = (agent: string) =>
      Object.entries(index[agent] ?? {})
        .filter(([id]) => sectionOf(id) === s)
        .map(([, r]) => r);
    rows.push(`| ${s} ${SECTIONS[s] ?? ''} | ${of('beyod').length} | ${cell(of('beyod'))} | ${cell(of('ws'))} |`);
  }
  const all = (agent: string) => Object.values(index[agent] ?? {});
  rows.push(`| total | ${all('beyod').length} | ${cell(all('beyod'))} | ${cell(all('ws'))} |`);
  const ms = (agent: string) =>
    Object.entries(index[agent] ?? {})
      .filter(([id]) => sectionOf(id) === '9')
      .reduce((t, [, r]) => t + r.duration, 0);
  if (sections.includes('9'))
    rows.push(
      '',
      `Section 9 took ${(ms('beyod') / 1000).toFixed(1)} s for beyod and ${(ms('ws') / 1000).toFixed(1)} s for ws ` +
        '(sum of case durations; depends on the machine and its load).',
    );
  const failed = new Map<string, string[]>();
  for (const agent of AGENTS) {
    const ids = Object.entries(index[agent] ?? {})
      .filter(([, r]) => r.behavior === 'FAILED' || r.behaviorClose === 'FAILED')
      .map(([id]) => id)
      .sort(byCase);
    if (ids.length > 0) failed.set(agent, ids);
  }
  for (const [agent, ids] of failed) rows.push('', `FAILED for ${agent}: ${ids.join(', ')}`);
  return { text: rows.join('\n'), failed };
}

/** The commit checked out (and whether the tree had changes) when the servers started. */
function currentCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT }).toString().trim() !== '';
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return 'unknown';
  }
}

function describeRun(commit: string): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const ws = (JSON.parse(fs.readFileSync(require.resolve('ws/package.json'), 'utf8')) as { version: string }).version;
  return (
    `Produced by \`npm run conformance:websocket\` on ${new Date().toISOString().slice(0, 10)}, commit ${commit}, ` +
    `Node ${process.version}, ws ${ws}, ${os.cpus().length} × ${cpu}. Both servers echo with permessage-deflate on ` +
    '(beyod: `perMessageDeflate: true`, `maxPayload` 16 MiB, `maxFragments` 131072; ws: `perMessageDeflate: true`, ' +
    '`maxFragments` 131072).'
  );
}

function writeDoc(block: string): void {
  const doc = fs.readFileSync(DOC, 'utf8');
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${DOC} has no ${BEGIN} ... ${END} block to rewrite`);
  fs.writeFileSync(DOC, `${doc.slice(0, a + BEGIN.length)}\n${block}\n${doc.slice(b)}`);
  console.log(`\nwrote the table into ${path.relative(ROOT, DOC)}`);
}

/** Rough cost of each section (its slow cases), to share the work between processes evenly. */
const WEIGHT: Record<string, number> = { '6': 2, '9': 10, '12': 40, '13': 55 };

/** Split the case patterns into `n` groups of similar cost (a pattern stays whole). */
function shards(cases: string, n: number): string[] {
  const parts = cases.split(/\s+/).filter((p) => p !== '');
  // a subsection of 12 or 13 (18 cases of up to 1000 compressed messages each) weighs 8
  const weight = (p: string) => (p.split('.').length > 2 && Number(p.split('.')[0]) >= 12 ? 8 : (WEIGHT[p.split('.')[0] as string] ?? 1));
  const groups = Array.from({ length: Math.min(n, parts.length) }, () => ({ cost: 0, parts: [] as string[] }));
  for (const p of [...parts].sort((a, b) => weight(b) - weight(a))) {
    const g = groups.reduce((a, b) => (b.cost < a.cost ? b : a));
    g.parts.push(p);
    g.cost += weight(p);
  }
  return groups.map((g) => g.parts.sort(byCase).join(' '));
}

/** One run_autobahn.sh for one server; resolves with what it printed (its summary). */
async function runAutobahn(autobahn: string, dir: string, cases: string, agent: string, url: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const run = spawn('bash', [path.join(autobahn, 'run_autobahn.sh'), dir, cases, `${agent}=${url}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let printed = '';
  run.stdout.setEncoding('utf8').on('data', (d: string) => (printed += d));
  const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
  if (code !== 0 || !fs.existsSync(path.join(dir, 'index.json'))) {
    console.error(printed);
    throw new Error(`run_autobahn.sh failed for ${agent} (exit ${code}); see ${path.join(dir, 'wstest.log')}`);
  }
  return printed;
}

async function main(): Promise<void> {
  const { cases, out, doc, jobs } = args();
  const commit = currentCommit();
  const autobahn = findAutobahn();
  fs.mkdirSync(out, { recursive: true });
  const [beyodPort, wsPort] = [await freePort(), await freePort()];
  const register = path.join(ROOT, 'packages', 'cli', 'register.js');
  const children: ChildProcess[] = [];
  const stop = () => {
    stopping = true;
    for (const c of children) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGTERM');
  };
  process.on('SIGINT', () => {
    stop();
    process.exit(130);
  });
  try {
    const env = { ...process.env, BEYOD_LOG_LEVEL: 'warn', CONFORMANCE_LISTEN: `tcp://127.0.0.1:${beyodPort}` };
    const beyod = start(
      'beyod',
      [
        path.join(ROOT, 'packages', 'cli', 'bin', 'beyod.js'),
        'start',
        '--single',
        '--config',
        path.join(HERE, 'config', 'main.ts'),
        '--pid-file',
        path.join(out, 'beyod.pid'),
      ],
      env,
      path.join(out, 'beyod.log'),
    );
    children.push(beyod);
    const ws = start('ws', ['-r', register, path.join(HERE, 'ws-echo.ts'), String(wsPort)], process.env, path.join(out, 'ws.log'));
    children.push(ws);
    await listening(beyodPort, beyod, 'beyod');
    await listening(wsPort, ws, 'ws');
    const urls: Record<string, string> = { beyod: `ws://127.0.0.1:${beyodPort}`, ws: `ws://127.0.0.1:${wsPort}` };
    const runs = AGENTS.flatMap((agent) =>
      shards(cases, jobs).map((part, i) => ({ agent, part, dir: path.join(out, `${agent}-${i + 1}`) })),
    );
    console.log(
      `beyod echo on ${beyodPort}, ws echo on ${wsPort}; running Autobahn cases ${cases} in ${runs.length} processes ` +
        `(${jobs} per server; reports under ${out}) ...`,
    );
    const t0 = Date.now();
    const results = await Promise.all(runs.map((r) => runAutobahn(autobahn, r.dir, r.part, r.agent, urls[r.agent] as string)));
    console.log(`done in ${Math.round((Date.now() - t0) / 1000)} s\n`);
    const index: Index = {};
    for (const r of runs) {
      const part = JSON.parse(fs.readFileSync(path.join(r.dir, 'index.json'), 'utf8')) as Index;
      Object.assign((index[r.agent] ??= {}), part[r.agent]);
    }
    const summary = results.join('\n');
    const { text, failed } = table(index);
    const block = `${describeRun(commit)}\n\n${text}`;
    console.log(block);
    const details = summary.indexOf('-----');
    if (failed.size > 0 && details >= 0) console.log(`\nthe failed cases, with what Autobahn expected and got:\n${summary.slice(details)}`);
    if (doc) writeDoc(block);
    else console.log('\n(docs/websocket.md not rewritten: a subset of cases, or --no-doc)');
    process.exitCode = failed.has('beyod') ? 1 : 0;
  } finally {
    stop();
  }
}

main().catch((e: unknown) => {
  console.error(`conformance:websocket: ${(e as Error).message}`);
  process.exitCode = 2;
});
