/* The supervisor under races, hung workers, slow starts and reloads that change the config. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type StatusReport, controlRequest, controlSocketPath } from '@beyod/core/internal';
import { Cleanup, until } from 'test-helpers';
import { alive, ask, beyod, freePort, holdersOf, lineClient, portOf, startFixture, testEnv } from './harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const start = (extra: Record<string, string> = {}, args: string[] = []) => startFixture(cleanup, extra, args);

/** Status straight from the control socket (no CLI process: fast enough to poll). */
function statusOf(runtime: string): Promise<StatusReport> {
  return controlRequest<StatusReport>(controlSocketPath(path.join(runtime, 'beyod.pid')), { cmd: 'status' });
}

function overrides(runtime: string, o: Record<string, unknown>): void {
  fs.writeFileSync(path.join(runtime, 'overrides.json'), JSON.stringify(o));
}

describe('supervisor races', () => {
  it('kill -9 of the old worker during a reload leaves one process per worker id', async () => {
    const { run, runtime, env } = await start({ BEYOD_TEST_WORKERS: '1', BEYOD_TEST_START_DELAY: '1500' });
    const old = (await statusOf(runtime)).workers[0]!.pid;
    const reloading = beyod(['reload'], env, 60000);
    // the replacement is starting (its onWorkerStart takes 1.5 s): two processes hold id 1
    const both = await until(() => (holdersOf(run.pid, 1).length === 2 ? holdersOf(run.pid, 1) : undefined), 10000, 'the replacement');
    expect(both).toContain(old);
    process.kill(old, 'SIGKILL');
    await reloading;
    const settled = await until(
      async () => {
        const holders = holdersOf(run.pid, 1);
        const s = await statusOf(runtime);
        return holders.length === 1 && s.workers[0]!.pid === holders[0] && s.workers[0]!.state === 'ready' ? holders : undefined;
      },
      10000,
      'exactly one process holding worker id 1, the one status shows',
    );
    expect(settled[0]).not.toBe(old);
    // and a later reload replaces it (no orphan left behind)
    const r = await beyod(['reload'], env, 60000);
    expect(r.code).toBe(0);
    await until(() => holdersOf(run.pid, 1).length === 1 && !holdersOf(run.pid, 1).includes(settled[0]!), 10000, 'one replaced process');
  });
});

describe('heartbeat', () => {
  it('a worker stopped with SIGSTOP is reported unresponsive, then killed and replaced under the same id', async () => {
    const { run, runtime } = await start({ BEYOD_TEST_WORKERS: '2', BEYOD_TEST_HEARTBEAT: '4' });
    const before = await statusOf(runtime);
    const victim = before.workers[0]!;
    process.kill(victim.pid, 'SIGSTOP');
    cleanup.defer(() => alive(victim.pid) && process.kill(victim.pid, 'SIGKILL'));
    const stuck = await until(
      async () => {
        const w = (await statusOf(runtime)).workers[0]!;
        return w.state === 'unresponsive' ? w : undefined;
      },
      10000,
      'worker 1 unresponsive',
    );
    expect(stuck.pid).toBe(victim.pid);
    expect(stuck.lag).toBeGreaterThanOrEqual(1000);
    const after = await until(
      async () => {
        const w = (await statusOf(runtime)).workers[0]!;
        return w.pid !== victim.pid && w.state === 'ready' ? w : undefined;
      },
      15000,
      'worker 1 replaced',
    );
    expect(after.workerId).toBe(1);
    expect(alive(victim.pid)).toBe(false);
    const line = await run.waitLog((l) => l.workerId === 1 && l.pid === victim.pid && l.level === 50);
    expect(line.msg).toMatch(/killed: its event loop has not answered for \d+\.\d s \(heartbeatTimeout 4 s/);
    expect((await statusOf(runtime)).workers[1]!.pid).toBe(before.workers[1]!.pid);
  });

  it('a master that was itself stopped does not kill its workers when it resumes', async () => {
    const { run, runtime } = await start({ BEYOD_TEST_WORKERS: '2', BEYOD_TEST_HEARTBEAT: '2' });
    const before = await statusOf(runtime);
    process.kill(run.pid, 'SIGSTOP');
    // the stall is the scenario: longer than heartbeatTimeout, while the workers keep beating
    await new Promise((r) => setTimeout(r, 3500));
    process.kill(run.pid, 'SIGCONT');
    // the master's timers ran before it answered: whatever it decided is decided
    const after = await statusOf(runtime);
    expect(after.workers.map((w) => w.pid)).toEqual(before.workers.map((w) => w.pid));
    await run.waitLog((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('the master itself was stalled'));
    expect(run.logs().some((l) => typeof l.msg === 'string' && (l.msg as string).includes('killed: its event loop'))).toBe(false);
  });

  it('a worker stuck in a busy loop is replaced, and the service answers again', async () => {
    const { runtime } = await start({ BEYOD_TEST_WORKERS: '1', BEYOD_TEST_HEARTBEAT: '3' });
    const before = await statusOf(runtime);
    const port = portOf(before);
    (await lineClient(port, cleanup)).socket.write('spin\n');
    await until(async () => (await statusOf(runtime)).workers[0]!.state === 'unresponsive', 10000, 'unresponsive');
    const after = await until(
      async () => {
        const w = (await statusOf(runtime)).workers[0]!;
        return w.pid !== before.workers[0]!.pid && w.state === 'ready' ? w : undefined;
      },
      15000,
      'replaced',
    );
    // the only worker died, so node:cluster bound port 0 afresh: read the port again
    expect(await ask(portOf(await statusOf(runtime)), 'hello')).toMatch(new RegExp(`^1 \\d+ ${after.pid} \\d+ hello$`));
  });

  it('status shows each worker’s event-loop lag', async () => {
    const { runtime, env } = await start({ BEYOD_TEST_WORKERS: '1' });
    const port = portOf(await statusOf(runtime));
    expect(await ask(port, 'block 1200', 5000)).toMatch(/ block 1200$/);
    expect((await statusOf(runtime)).workers[0]!.lag).toBeGreaterThanOrEqual(1000);
    expect((await beyod(['status'], env)).stdout).toMatch(/\blag\b/);
  });
});

describe('a start that hangs', () => {
  it('says which phase is pending while it waits, and gives up after startTimeout', async () => {
    const { runtime, env } = testEnv({ BEYOD_TEST_WORKERS: '2', BEYOD_TEST_START_TIMEOUT: '6' });
    cleanup.defer(() => fs.rmSync(runtime, { recursive: true, force: true }));
    fs.mkdirSync(runtime, { recursive: true });
    fs.writeFileSync(path.join(runtime, 'hang-2'), '');
    const r = await beyod(['start'], env, 30000);
    expect(r.code).toBe(1);
    // reported every startTimeout / 4 (1.5 s here); a loaded machine may first report the listener
    expect(r.stderr).toMatch(/worker 2: onWorkerStart still pending after \d+ s/);
    expect(r.stderr).toMatch(/beyod: worker 2 did not start within 6 s \(onWorkerStart still pending\); startTimeout is 6 s/);
    expect(fs.existsSync(path.join(runtime, 'beyod.pid'))).toBe(false);
  });
});

describe('reload applies what it can, and says what it does not', () => {
  it('a changed workerNum and maxRequests are applied; serverId needs a restart and says so', async () => {
    const { run, runtime, env } = await start({ BEYOD_TEST_WORKERS: '2' });
    overrides(runtime, { workerNum: 3, maxRequests: 3, serverId: 9 });
    const r = await beyod(['reload'], env, 60000);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch('workerNum changed from 2 to 3: applied');
    expect(r.stderr).toMatch('maxRequests changed from 0 to 3: applied');
    expect(r.stderr).toMatch(/serverId changed from 3 to 9: needs a restart \(`beyod restart`\); still 3 until then/);
    expect(r.stderr).toMatch(/worker 3: started \(pid \d+\), workerNum raised/);
    const s = await statusOf(runtime);
    expect(s.workerNum).toBe(3);
    expect(s.serverId).toBe(3);
    expect(s.workers.map((w) => [w.workerId, w.state])).toEqual([
      [1, 'ready'],
      [2, 'ready'],
      [3, 'ready'],
    ]);
    // every worker kept serverId 3 (GPID = 3 << 16 + id), whatever the new config says
    const port = portOf(s);
    for (let i = 0; i < 12; i++) expect((await ask(port, 'who')).split(' ')[1]).toMatch(/^(196609|196610|196611)$/);
    // maxRequests 3 now applies: a worker is recycled after 3 messages
    await run.waitLog((l) => typeof l.msg === 'string' && (l.msg as string).includes('(maxRequests 3)'), 10000);

    overrides(runtime, { workerNum: 1 });
    const down = await beyod(['reload'], env, 60000);
    expect(down.code).toBe(0);
    expect(down.stderr).toMatch(/worker 2: retired \(pid \d+\), workerNum lowered/);
    expect(down.stderr).toMatch(/worker 3: retired/);
    await until(async () => (await statusOf(runtime)).processes.length === 1, 10000, 'workers 2 and 3 gone');
    expect((await statusOf(runtime)).workers.map((w) => w.workerId)).toEqual([1]);
    expect(holdersOf(run.pid, 2)).toEqual([]);
  });

  it('a changed listener address is taken up by the new workers, and the reload says so', async () => {
    const { runtime, env } = await start({ BEYOD_TEST_WORKERS: '2' });
    const before = portOf(await statusOf(runtime));
    const next = await freePort();
    overrides(runtime, { listen: `tcp://127.0.0.1:${next}` });
    const r = await beyod(['reload'], env, 60000);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      `listeners changed from {"who":"tcp://127.0.0.1:0"} to {"who":"tcp://127.0.0.1:${next}"}: the new workers run with it`,
    );
    const s = await statusOf(runtime);
    expect(s.workers.every((w) => w.listeners[0]!.address === `127.0.0.1:${next}`)).toBe(true);
    expect(await ask(next, 'moved')).toMatch(/ moved$/);
    // the old address closes once the old workers are gone
    await until(
      () =>
        ask(before, 'old', 500).then(
          () => false,
          () => true,
        ),
      10000,
      'the old port closed',
    );
  });

  it('an invalid config refuses the reload and replaces nothing', async () => {
    const { runtime, env } = await start({ BEYOD_TEST_WORKERS: '1' });
    const before = await statusOf(runtime);
    overrides(runtime, { workerNum: 'many' });
    // --pid-file: the invalid config cannot tell the CLI where this app's pid file is
    const r = await beyod(['reload', '--pid-file', path.join(runtime, 'beyod.pid')], env, 60000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /reload refused, no worker was replaced: .*components\.server\.workerNum: expected a number, got the string "many"/,
    );
    expect((await statusOf(runtime)).workers[0]!.pid).toBe(before.workers[0]!.pid);
  });

  it('a reload that fails half-way says which workers run new code and which old', async () => {
    const { runtime, env } = await start({ BEYOD_TEST_WORKERS: '3' });
    const before = await statusOf(runtime);
    fs.writeFileSync(path.join(runtime, 'fail-2'), '');
    const r = await beyod(['reload'], env, 60000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch('reload stopped at worker 2: worker 2 failed to start: worker 2 was told to fail');
    expect(r.stderr).toMatch('worker 1 run the new code; workers 2, 3 still run the old code');
    const after = await statusOf(runtime);
    expect(after.workers[0]!.pid).not.toBe(before.workers[0]!.pid);
    expect(after.workers.slice(1).map((w) => w.pid)).toEqual(before.workers.slice(1).map((w) => w.pid));
    expect(after.workers.every((w) => w.state === 'ready')).toBe(true);
  });
});

describe('going away', () => {
  it('stop tells every connection (onShutdown) and prints drain progress', async () => {
    const { run, env } = await start({ BEYOD_TEST_WORKERS: '2', BEYOD_TEST_STOP_TIMEOUT: '2', BEYOD_TEST_GOING_AWAY: '1' });
    const port = portOf(JSON.parse((await beyod(['status', '--json'], env)).stdout) as StatusReport);
    const socks = await Promise.all(
      [0, 1, 2].map(async () => {
        const c = await lineClient(port, cleanup);
        c.socket.write('hi\n');
        await until(() => c.got().includes('hi'), 3000, 'an answer');
        return c;
      }),
    );
    const r = await beyod(['stop'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`stopping 'fixture' \\(pid ${run.pid}\\): waiting for 3 connections, up to 2 s`));
    expect(r.stderr).toMatch(`stopped (pid ${run.pid})`);
    for (const c of socks) expect(c.got()).toMatch(/going away stop 2\n/);
  });

  it('a reload tells the old worker’s connections why (live handoff off: they do not move)', async () => {
    const { env } = await start({
      BEYOD_TEST_WORKERS: '1',
      BEYOD_TEST_STOP_TIMEOUT: '1',
      BEYOD_TEST_GOING_AWAY: '1',
      BEYOD_TEST_HANDOFF: '0',
    });
    const port = portOf(JSON.parse((await beyod(['status', '--json'], env)).stdout) as StatusReport);
    const c = await lineClient(port, cleanup);
    expect((await beyod(['reload'], env, 60000)).code).toBe(0);
    await until(() => c.got().includes('going away reload 1'), 5000, 'the going-away line');
  });

  it('a connection that moves to the replacement (live handoff) is not told to go away', async () => {
    const { env } = await start({ BEYOD_TEST_WORKERS: '1', BEYOD_TEST_STOP_TIMEOUT: '1', BEYOD_TEST_GOING_AWAY: '1' });
    const port = portOf(JSON.parse((await beyod(['status', '--json'], env)).stdout) as StatusReport);
    const c = await lineClient(port, cleanup);
    c.socket.write('before\n');
    await until(() => c.got().includes('before'), 3000, 'an answer');
    const r = await beyod(['reload'], env, 60000);
    expect(r.stderr).toMatch(/\(1 connection moved, 0 drained\)/);
    c.socket.write('after\n');
    await until(() => c.got().includes('after'), 5000, 'an answer from the new worker');
    expect(c.got()).not.toMatch(/going away/);
  });
});
