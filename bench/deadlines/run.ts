/*
 * bench/deadlines: the cost of per-connection deadlines, three ways, in one process:
 * - wheel: core's DeadlineWheel (connection.setDeadline), one shared timing wheel;
 * - sweep: what http.Parser did before (a Set of watched connections, a deadline field, and
 *   a setInterval that visits every watched connection);
 * - setTimeout: a node timer per deadline (clearTimeout + setTimeout on every re-arm).
 * Figures: ns per re-arm (1M re-arms over N connections, 5 s deadlines), and the CPU the
 * timers burn per second while N idle connections each hold a deadline 60 s away (what an idle
 * server pays for watching its connections).
 * Usage: npm run bench:deadlines [-- connections]  (runs node with --expose-gc)
 */
import { DeadlineEntry, DeadlineWheel } from '@beyod/core/internal';
import { beginReport, endReport, machine, printTable } from '../lib';

const N = Number(process.argv[2] ?? 10000);
const REARMS = 1_000_000;
const IDLE_MS = 5000;
const FAR_MS = 60000;

class Conn {
  deadline = 0;
  timer = 0;
  handle: NodeJS.Timeout | undefined = undefined;
  entry: DeadlineEntry;
  constructor() {
    this.entry = new DeadlineEntry(this);
  }
  _deadlineExpired(): void {}
}

function ns(fn: () => void): number {
  fn(); // warm up
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / REARMS;
}

async function cpuPerSecond(setup: () => () => void, ms = 3000): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.(); // the re-arm rounds' garbage is not the timers' cost
  const teardown = setup();
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 200));
  const before = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  const d = process.cpuUsage(before);
  teardown();
  return ((d.user + d.system) / 1000 / ms) * 1000; // ms of CPU per second
}

(async () => {
  beginReport('deadlines');
  console.log(`bench/deadlines — ${machine()}`);
  console.log(`${N} connections, ${REARMS.toLocaleString('en-US')} re-arms, ${IDLE_MS / 1000} s deadlines`);
  const conns = Array.from({ length: N }, () => new Conn());

  // --- re-arm cost
  const wheel = new DeadlineWheel();
  const wheelArm = ns(() => {
    for (let i = 0; i < REARMS; i++) {
      const c = conns[i % N]!;
      wheel.arm(c.entry, Date.now() + IDLE_MS, i & 1);
    }
  });
  for (const c of conns) wheel.clear(c.entry);

  const watched = new Set<Conn>();
  const sweepArm = ns(() => {
    for (let i = 0; i < REARMS; i++) {
      const c = conns[i % N]!;
      c.timer = i & 1;
      c.deadline = Date.now() + IDLE_MS;
      watched.add(c);
    }
  });
  watched.clear();

  const noop = (): void => {};
  const timerArm = ns(() => {
    for (let i = 0; i < REARMS; i++) {
      const c = conns[i % N]!;
      if (c.handle !== undefined) clearTimeout(c.handle);
      c.handle = setTimeout(noop, IDLE_MS);
      c.handle.unref();
    }
  });
  for (const c of conns) clearTimeout(c.handle);

  // --- idle cost: N connections each holding a deadline that does not pass during the window
  const wheelIdle = await cpuPerSecond(() => {
    for (const c of conns) wheel.arm(c.entry, Date.now() + FAR_MS, 0);
    return () => {
      for (const c of conns) wheel.clear(c.entry);
    };
  });
  const sweepIdle = await cpuPerSecond(() => {
    for (const c of conns) {
      c.deadline = Date.now() + FAR_MS;
      c.timer = 2;
      watched.add(c);
    }
    // http.Parser's interval: min(1000, max(20, shortest timeout / 4)); keepAliveTimeout 5 s -> 1 s
    const sweeper = setInterval(
      () => {
        const now = Date.now();
        for (const c of watched) {
          if (c.timer === 0 || now < c.deadline) continue;
          watched.delete(c);
        }
      },
      Math.min(1000, Math.max(20, IDLE_MS / 4)),
    );
    return () => {
      clearInterval(sweeper);
      watched.clear();
    };
  });
  const timerIdle = await cpuPerSecond(() => {
    for (const c of conns) c.handle = setTimeout(noop, FAR_MS);
    return () => {
      for (const c of conns) clearTimeout(c.handle);
    };
  });

  printTable(
    'per-connection deadlines',
    ['approach', 'ns per re-arm', `CPU ms per s, ${N} idle connections`, 'objects per re-arm'],
    [
      ['core DeadlineWheel (setDeadline)', wheelArm.toFixed(1), wheelIdle.toFixed(2), '0'],
      ['Set + sweep of every connection (http.Parser before)', sweepArm.toFixed(1), sweepIdle.toFixed(2), '0'],
      ['a node timer per deadline', timerArm.toFixed(1), timerIdle.toFixed(2), '1 Timeout'],
    ],
  );
  endReport();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
