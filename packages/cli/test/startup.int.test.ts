import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StatusReport } from '@beyod/core';
import { Cleanup, tmpDir, until } from 'test-helpers';
import { FIXTURE_CONFIG, alive, beyod, status } from './harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

/** The fixture app copied under a directory whose name needs quoting and escaping in a unit file. */
function awkwardApp(): { appDir: string; config: string; runtime: string } {
  const root = tmpDir('beyod-startup-');
  cleanup.defer(() => fs.rmSync(root, { recursive: true, force: true }));
  const appDir = path.join(root, 'my app %i $HOME');
  fs.cpSync(path.dirname(path.dirname(FIXTURE_CONFIG)), appDir, { recursive: true });
  fs.symlinkSync(path.resolve(__dirname, '../../../node_modules'), path.join(appDir, 'node_modules'), 'dir');
  const runtime = path.join(root, 'run time');
  return { appDir, config: path.join(appDir, 'config/main.ts'), runtime };
}

/** The key=value lines of a unit (a key that repeats keeps every value). */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

/** Split a command line the way systemd does (double quotes, backslash escapes, $$ and %%). */
function systemdWords(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of line.matchAll(re)) {
    const w = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!;
    words.push(w.replaceAll('$$', '$').replaceAll('%%', '%'));
  }
  return words;
}

/** Environment= values the same way (quotes, %%; no $ expansion there). */
function systemdEnv(values: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of values) {
    const word = (v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v).replaceAll('%%', '%');
    const i = word.indexOf('=');
    env[word.slice(0, i)] = word.slice(i + 1);
  }
  return env;
}

it('prints a unit that systemd accepts, and that starts, reloads and stops the app as systemd would run it', async () => {
  const { appDir, config, runtime } = awkwardApp();
  const r = await beyod(
    ['startup', 'systemd', '--config', config, '--env', `BEYOD_TEST_RUNTIME=${runtime}`, '--user', 'nobody'],
    process.env,
  );
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(
    /Save it as \/etc\/systemd\/system\/fixture\.service, then: systemctl daemon-reload && systemctl enable --now fixture/,
  );
  const unit = parseUnit(r.stdout);
  expect(unit.get('Type')).toEqual(['simple']);
  expect(unit.get('KillMode')).toEqual(['mixed']); // SIGTERM to the master only: it stops its workers itself
  expect(unit.get('User')).toEqual(['nobody']);
  expect(unit.get('WantedBy')).toEqual(['multi-user.target']);
  expect(unit.get('TimeoutStopSec')).toEqual(['17']); // the fixture's stopTimeout (2) + 15

  if (hasSystemdAnalyze) {
    const file = path.join(path.dirname(appDir), 'fixture.service');
    fs.writeFileSync(file, r.stdout.replace(/^User=.*$/m, '')); // 'nobody' may not resolve in a container
    const verify = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
  } else {
    console.warn('systemd-analyze is not installed: the unit is not checked by systemd itself');
  }

  // Run ExecStart as systemd would: in WorkingDirectory, with the Environment= lines.
  const workDir = unit.get('WorkingDirectory')![0]!.replaceAll('%%', '%');
  expect(workDir).toBe(appDir);
  const env = { ...process.env, ...systemdEnv(unit.get('Environment')!) };
  expect(env).toMatchObject({ NODE_ENV: 'production', BEYOD_TEST_RUNTIME: runtime });
  const [cmd, ...args] = systemdWords(unit.get('ExecStart')![0]!);
  expect(cmd).toBe(process.execPath);
  expect(args.slice(1)).toEqual(['start', '--config', config]);
  const main = spawn(cmd!, args, { cwd: workDir, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  cleanup.add(main, (m) => {
    try {
      process.kill(-m.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  let stderr = '';
  main.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => main.on('exit', resolve));
  await until(() => /started: 2 workers/.test(stderr), 20000, `ExecStart (${stderr})`);
  const before: StatusReport = await status(env, config);

  // systemctl reload: ExecReload, to completion
  const [rcmd, ...rargs] = systemdWords(unit.get('ExecReload')![0]!);
  const reload = spawnSync(rcmd!, rargs, { cwd: workDir, env, encoding: 'utf8', timeout: 60000 });
  expect(reload.stderr).toMatch(/reloaded 2 workers/);
  expect(reload.status).toBe(0);
  const after = await status(env, config);
  expect(after.master.pid).toBe(main.pid);
  for (const [i, w] of after.workers.entries()) expect(w.pid).not.toBe(before.workers[i]!.pid);

  // systemctl stop with KillMode=mixed: SIGTERM to the main process alone
  process.kill(main.pid!, 'SIGTERM');
  expect(await exited).toBe(0);
  for (const w of after.workers) await until(() => !alive(w.pid), 5000, `worker ${w.pid} gone`);
});

it('follows what the config says: server.user, daemonize, --pid-file', async () => {
  const { config, runtime } = awkwardApp();
  const pidFile = path.join(runtime, 'other.pid');
  const env = { ...process.env, BEYOD_TEST_RUNTIME: runtime, BEYOD_TEST_USER: 'daemon' };
  const r = await beyod(['startup', 'systemd', '--config', config, '--pid-file', pidFile, '--name', 'my-app'], env);
  expect(r.code).toBe(0);
  const unit = parseUnit(r.stdout);
  expect(unit.has('User')).toBe(false); // the master starts as root; workers switch to server.user
  expect(r.stdout).toMatch(/^# No User=: the master starts as root and the workers switch to 'daemon'/m);
  expect(systemdWords(unit.get('ExecStart')![0]!).slice(2)).toEqual(['start', '--config', config, '--pid-file', pidFile]);
  expect(r.stdout).toMatch(/^# Install as \/etc\/systemd\/system\/my-app\.service/m);
  expect(unit.get('Type')).toEqual(['simple']);

  // a config that daemonizes: systemd follows the detached master through its pid file
  fs.mkdirSync(path.join(path.dirname(config), 'daemon'));
  fs.writeFileSync(path.join(path.dirname(config), 'daemon/main.ts'), 'export default { components: { server: { daemonize: true } } };\n');
  const d = await beyod(['startup', 'systemd', '--config', config], { ...env, BEYOD_ENV: 'daemon' });
  expect(d.code).toBe(0);
  const daemon = parseUnit(d.stdout);
  expect(daemon.get('Type')).toEqual(['forking']);
  expect(daemon.get('PIDFile')).toEqual([path.join(runtime, 'beyod.pid').replaceAll('%', '%%')]);
  expect(daemon.get('Environment')).toContain('BEYOD_ENV=daemon'); // the environment it was printed in
});

it('refuses what it cannot do, with the reason', async () => {
  const launchd = await beyod(['startup', 'launchd'], process.env);
  expect(launchd.code).not.toBe(0);
  expect(launchd.stdout).toBe(''); // no unit
  expect(launchd.stderr).toMatch(/Invalid values:[\s\S]*Given: "launchd", Choices: "systemd"/);
  const badEnv = await beyod(['startup', 'systemd', '--env', 'NOEQUALS'], process.env);
  expect(badEnv.code).toBe(1);
  expect(badEnv.stderr).toBe('beyod: --env "NOEQUALS": expected KEY=VALUE\n');
});
