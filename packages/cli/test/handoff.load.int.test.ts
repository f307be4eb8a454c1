/*
 * Live handoff under load, through the real CLI: WebSocket and frame clients (1,000 and 200 by
 * default; BEYOD_HANDOFF_WS_CLIENTS / BEYOD_HANDOFF_FRAME_CLIENTS change it) on 2 workers,
 * each sending a numbered message every 10 ms and checking every echo
 * ("<pid> <seq> <count> <origin>", test-helpers/echoLoad.ts), through two `beyod reload`s:
 * no disconnect, nothing lost or reordered, every connection served by a new process at the
 * end, and its state (the count, in its attributes; the origin, moved by onHandoff / onAdopt)
 * carried over. Then kill -9 of a worker: its clients lose their connection and reconnect, the
 * others are untouched.
 *
 * The load generator runs in a process of its own and sends as fast as the machine lets it, up
 * to every 10 ms per client; the rate it reached is printed. The assertions are the same
 * whatever the rate.
 */
import type { StatusReport } from '@beyod/core';
import { Cleanup, until } from 'test-helpers';
import type { LoadReport } from '../../../test-helpers/echoLoad';
import { LoadProcess, startHandoffApp } from './handoffHarness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const WS = Number(process.env.BEYOD_HANDOFF_WS_CLIENTS ?? 1000);
const FRAMES = Number(process.env.BEYOD_HANDOFF_FRAME_CLIENTS ?? 200);
const CLIENTS = WS + FRAMES;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pidsOf = (s: StatusReport) => s.workers.map((w) => w.pid);

function summary(what: string, r: LoadReport): string {
  const lat = Object.entries(r.latency)
    .map(([phase, l]) => `${phase}: p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms (${l.count})`)
    .join('; ');
  return `${what}: ${r.clients} clients, ${r.sent} messages in ${r.seconds} s (${r.rate}/s), ${r.problems} problems; ${lat}`;
}

async function startLoad(extra: { reconnect?: boolean } = {}) {
  const app = await startHandoffApp(cleanup, { HANDOFF_WORKERS: '2', HANDOFF_STOP_TIMEOUT: '10' });
  const s = await app.status();
  const load = new LoadProcess(
    {
      host: '127.0.0.1',
      wsPort: WS ? app.port(s, 'ws') : undefined,
      wsClients: WS,
      framePort: app.port(s, 'frame'),
      frameClients: FRAMES,
      interval: 10,
      window: 100,
      ...extra,
    },
    cleanup,
  );
  await load.ready;
  return { app, load, first: s };
}

describe(`live handoff under load (${WS} WebSocket + ${FRAMES} frame clients)`, () => {
  it('two reloads: no disconnect, nothing lost or reordered, every connection on a new process with its state', async () => {
    const { app, load, first } = await startLoad();
    load.phase('before');
    await pause(1500);
    const generations = [pidsOf(first)];
    for (const n of [1, 2]) {
      load.phase(`reload ${n}`);
      const r = await app.cmd(['reload']);
      expect(r.code).toBe(0);
      // every connection of both workers moved, none drained
      const moved = [...r.stderr.matchAll(/\((\d+) connections? moved, (\d+) drained\)/g)];
      expect(moved).toHaveLength(2);
      expect(moved.reduce((k, m) => k + Number(m[1]), 0)).toBe(CLIENTS);
      expect(moved.reduce((k, m) => k + Number(m[2]), 0)).toBe(0);
      generations.push(pidsOf(await app.status()));
      load.phase(n === 1 ? 'between' : 'after');
      await pause(1500);
    }
    const r = await load.finish();
    console.log(summary('two reloads under load', r));
    expect(r.details).toEqual([]);
    expect(r.problems).toBe(0);
    expect(r.disconnects).toEqual([]);
    expect(r.connected).toBe(CLIENTS);
    expect(r.outstanding).toBe(0);
    expect(r.received).toBe(r.sent);
    expect(r.sent).toBeGreaterThan(CLIENTS * 3); // every client sent before, between and after
    // every connection is served by a process of the last generation, and still knows the
    // process of the first generation that accepted it (state carried through two moves)
    const [gen0, , gen2] = generations as [number[], number[], number[]];
    expect(new Set(r.lastPid.filter((p) => !gen2.includes(p)))).toEqual(new Set());
    expect(new Set(r.origin.filter((p) => !gen0.includes(p)))).toEqual(new Set());
  }, 240_000);

  it('kill -9 of a worker: its clients reconnect, the others are untouched', async () => {
    const { app, load, first } = await startLoad({ reconnect: true });
    await pause(1500);
    const victim = first.workers[0]!.pid;
    const before = await load.report();
    const onVictim = new Set(before.lastPid.flatMap((p, i) => (p === victim ? [i] : [])));
    expect(onVictim.size).toBeGreaterThan(0);
    expect(onVictim.size).toBeLessThan(CLIENTS);
    process.kill(victim, 'SIGKILL');
    await until(
      async () => {
        const w = (await app.status()).workers[0]!;
        return w.pid !== victim && w.state === 'ready';
      },
      30000,
      'the respawned worker',
    );
    await pause(2000);
    const r = await load.finish();
    console.log(summary('kill -9 under load', r));
    // the victim's clients lost their connection (once each) and got answers again after
    expect(new Set(r.disconnects.map((d) => d.client))).toEqual(onVictim);
    expect(r.disconnects.every((d) => d.pid === victim)).toBe(true);
    for (const i of onVictim) expect(r.lastPid[i]).not.toBe(victim);
    // everyone else saw nothing at all
    const others = r.clientProblems.flatMap((n, i) => (n > 0 && !onVictim.has(i) ? [i] : []));
    expect(others).toEqual([]);
    expect(r.connected).toBe(CLIENTS);
  }, 240_000);
});
