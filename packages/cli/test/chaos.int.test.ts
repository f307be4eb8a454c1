/*
 * Chaos: random kill -9s during rolling reloads under load, for a bounded time. Every sample
 * scans /proc for the master's children and the worker id in their environment, and checks
 * it against the master's own table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type StatusReport, controlRequest, controlSocketPath } from '@beyod/core';
import { Cleanup, until } from 'test-helpers';
import { alive, ask, freePort, portOf, startBeyod, testEnv, workerProcesses } from './harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const CHAOS_MS = Number(process.env.BEYOD_CHAOS_MS ?? 20_000);
const WORKERS = 3;

it(
  'random kill -9s during reloads under load: every process holding a worker id is known to the master, one serves each id, and the service keeps answering',
  async () => {
    // a fixed port (found free): with port 0, node:cluster binds a new one if every worker dies at once
    const port = await freePort();
    const { runtime, env } = testEnv({
      BEYOD_TEST_WORKERS: String(WORKERS),
      BEYOD_TEST_START_DELAY: '300',
      BEYOD_TEST_STOP_TIMEOUT: '1',
      BEYOD_TEST_LISTEN: `tcp://127.0.0.1:${port}`,
    });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    const run = startBeyod([], env);
    cleanup.add(run, (r) => r.kill());
    await run.waitStarted();
    const socket = controlSocketPath(path.join(runtime, 'beyod.pid'));
    const statusNow = () => controlRequest<StatusReport>(socket, { cmd: 'status' }, 5000);
    const master = run.pid;
    expect(portOf(await statusNow())).toBe(port);

    // load: clients asking in a loop; failures are expected (a killed worker drops its requests)
    let ok = 0;
    let loading = true;
    let sampling = true;
    const client = async () => {
      while (loading) {
        try {
          if ((await ask(port, 'ping', 2000)).endsWith(' ping')) ok++;
        } catch {
          /* its worker was killed */
        }
      }
    };
    const clients = [client(), client(), client()];
    cleanup.defer(() => {
      loading = false;
      sampling = false;
    });

    // the invariant, sampled as often as a status round trip allows
    const violations: string[] = [];
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        const seen = workerProcesses(master);
        let s: StatusReport;
        try {
          s = await statusNow();
        } catch (e) {
          violations.push(`status failed: ${(e as Error).message}`);
          continue;
        }
        samples++;
        const known = new Map(s.processes.map((p) => [p.pid, p]));
        for (const [pid, id] of seen) {
          const p = known.get(pid);
          // a process that exited between the scan and the status answer is not an orphan
          if (!p && alive(pid) && workerProcesses(master).get(pid) === id)
            violations.push(`pid ${pid} holds worker id ${id}, unknown to the master`);
          if (p && p.workerId !== id) violations.push(`pid ${pid} holds worker id ${id}, the master thinks ${p.workerId}`);
        }
        for (let id = 1; id <= WORKERS; id++) {
          const roles = s.processes.filter((p) => p.workerId === id).map((p) => p.role);
          if (roles.filter((r) => r === 'current').length > 1) violations.push(`worker ${id}: two current processes`);
          if (roles.filter((r) => r === 'incoming').length > 1) violations.push(`worker ${id}: two replacements starting`);
          const holders = [...seen].filter(([, w]) => w === id).map(([pid]) => pid);
          const notRetiring = holders.filter((pid) => known.get(pid) && known.get(pid)!.role !== 'retiring');
          if (notRetiring.length > 2)
            violations.push(`worker ${id}: ${notRetiring.length} processes not retiring: ${notRetiring.join(', ')}`);
        }
      }
    })();

    // chaos: a reload at a time, with kill -9s of random worker processes while it runs
    const deadline = Date.now() + CHAOS_MS;
    let reloads = 0;
    let kills = 0;
    while (Date.now() < deadline) {
      let done = false;
      const reload = controlRequest(socket, { cmd: 'reload' }, 60_000)
        .catch(() => undefined)
        .finally(() => (done = true));
      reloads++;
      while (!done) {
        // pacing between kills, not a wait for a condition
        await new Promise((r) => setTimeout(r, 150 + Math.random() * 900));
        const pids = [...workerProcesses(master).keys()];
        const victim = pids[Math.floor(Math.random() * pids.length)];
        if (victim && !done) {
          try {
            process.kill(victim, 'SIGKILL');
            kills++;
          } catch {
            /* gone already */
          }
        }
      }
      await reload;
      const before = ok;
      await until(() => ok > before, 15_000, `requests answered after reload ${reloads}`);
    }

    // settle: one process per id, the one status shows, all ready, and answering
    const settled = await until(
      async () => {
        const seen = workerProcesses(master);
        const s = await statusNow();
        const one = s.workers.every(
          (w) =>
            w.state === 'ready' &&
            [...seen]
              .filter(([, id]) => id === w.workerId)
              .map(([pid]) => pid)
              .join() === String(w.pid),
        );
        return one && seen.size === WORKERS ? s : undefined;
      },
      20_000,
      'one ready process per worker id',
    );
    sampling = false;
    await sampler;
    loading = false;
    await Promise.all(clients);
    expect(settled.workers.map((w) => w.workerId)).toEqual([1, 2, 3]);
    expect(violations).toEqual([]);
    expect(reloads).toBeGreaterThan(1);
    expect(kills).toBeGreaterThan(3);
    expect(samples).toBeGreaterThan(20);
    expect(await ask(port, 'after')).toMatch(/ after$/);
  },
  CHAOS_MS + 90_000,
);
