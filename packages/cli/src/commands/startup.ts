import * as os from 'node:os';
import * as path from 'node:path';
import { type Application, BeyodError, ErrorCodes } from '@beyod/core';
import type { Argv } from 'yargs';
import { findConfig, loadApp } from '../loadApp';

interface StartupArgs {
  system: string;
  config?: string;
  pidFile?: string;
  user?: string;
  name?: string;
  env?: string[];
}

/** `beyod startup systemd`: print an init-system unit that runs this app. */
export const startupCommand = {
  command: 'startup <system>',
  describe: 'print a systemd unit that runs this app (save it, then systemctl enable --now)',
  builder: (y: Argv) =>
    y
      .positional('system', { type: 'string', choices: ['systemd'], demandOption: true, describe: 'the init system' })
      .option('user', { type: 'string', describe: 'User= of the service (default: you, unless you are root)' })
      .option('name', { type: 'string', describe: "the unit's name (default: the app id)" })
      .option('env', { type: 'string', array: true, describe: 'KEY=VALUE set in the service environment (repeatable)' }),
  handler: async (a: StartupArgs): Promise<number> => {
    if (a.system !== 'systemd')
      throw new BeyodError(ErrorCodes.CONFIG_INVALID, `startup: unknown init system '${a.system}' (systemd is the one there is)`);
    const loc = findConfig(a.config);
    const app = loadApp(loc);
    if (a.pidFile) app.server.pidFile = path.resolve(a.pidFile);
    const unit = systemdUnit(app, {
      configFile: loc.configFile,
      pidFile: a.pidFile && path.resolve(a.pidFile),
      user: a.user,
      name: a.name,
      env: parseEnv(a.env ?? []),
    });
    process.stdout.write(unit.text);
    process.stderr.write(
      `Save it as /etc/systemd/system/${unit.name}.service, then: systemctl daemon-reload && systemctl enable --now ${unit.name}\n` +
        `(beyod startup systemd > /etc/systemd/system/${unit.name}.service, as root)\n`,
    );
    return 0;
  },
};

export interface SystemdOptions {
  configFile: string;
  /** --pid-file given to every command of the unit. */
  pidFile?: string;
  /** User= (default: the current user; none when the config drops privileges itself or we are root). */
  user?: string;
  /** The unit name (default: the app id). */
  name?: string;
  /** Extra Environment= lines. */
  env?: Record<string, string>;
  /** The beyod binary to run (default: the app's own node_modules/@beyod/cli, else this CLI). */
  bin?: string;
  /** The node binary (default: this one). */
  node?: string;
}

/**
 * A systemd service for the app. The master runs in the foreground (Type=simple) and stops its
 * workers itself, so SIGTERM goes to it alone (KillMode=mixed); what is left after
 * TimeoutStopSec is killed. `systemctl reload` is a rolling reload.
 */
export function systemdUnit(app: Application, o: SystemdOptions): { name: string; text: string } {
  const server = app.server;
  const name = unitName(o.name ?? app.id);
  const node = o.node ?? process.execPath;
  const bin = o.bin ?? beyodBin(app.basePath);
  const common = ['--config', o.configFile, ...(o.pidFile ? ['--pid-file', o.pidFile] : [])];
  const cmd = (sub: string) => [node, bin, sub, ...common].map((w) => quoteArg(w)).join(' ');
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    ...(process.env.BEYOD_ENV ? { BEYOD_ENV: process.env.BEYOD_ENV } : {}),
    ...o.env,
  };

  const lines = [
    `# systemd unit for the beyod app '${app.id}' (${app.basePath}), printed by \`beyod startup systemd\`.`,
    `# Install as /etc/systemd/system/${name}.service, then: systemctl daemon-reload && systemctl enable --now ${name}`,
    `# systemctl reload ${name} = beyod reload (rolling, no refused connection); systemctl stop ${name} = graceful stop.`,
    '[Unit]',
    `Description=beyod app ${app.id} (${app.basePath})`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
  ];
  if (server.daemonize) {
    // `beyod start` detaches when the config says daemonize: let systemd follow the master by its pid file.
    lines.push('# daemonize is true in the config: systemd follows the detached master through its pid file.');
    lines.push('Type=forking', `PIDFile=${escapeValue(o.pidFile ?? app.resolvePath(server.pidFile))}`);
  } else {
    lines.push('Type=simple');
  }
  lines.push(`WorkingDirectory=${escapeValue(app.basePath)}`);
  for (const [k, v] of Object.entries(env)) lines.push(`Environment=${quoteArg(`${k}=${v}`, false)}`);
  lines.push(`ExecStart=${cmd('start')}`, `ExecReload=${cmd('reload')}`);
  lines.push(
    '# The master stops the workers itself (they drain within stopTimeout): SIGTERM to it alone,',
    '# SIGKILL to anything still there after TimeoutStopSec.',
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${server.stopTimeout + 15}`,
    'Restart=on-failure',
    'RestartSec=2',
    // the PHP original's rlimit_nofile: one descriptor per connection
    'LimitNOFILE=65536',
  );
  const user = o.user ?? (server.user ? undefined : currentUser());
  if (server.user) {
    lines.push(`# No User=: the master starts as root and the workers switch to '${server.user}' after binding (server.user).`);
  } else if (user) {
    lines.push(`User=${escapeValue(user)}`);
  } else {
    lines.push('# User=www-data   # you are root: name an unprivileged user here (or set server.user in the config)');
  }
  lines.push('', '[Install]', 'WantedBy=multi-user.target', '');
  return { name, text: lines.join('\n') };
}

/** The app's own beyod (node_modules/@beyod/cli), else this CLI. */
function beyodBin(appDir: string): string {
  try {
    return path.join(path.dirname(require.resolve('@beyod/cli/package.json', { paths: [appDir] })), 'bin', 'beyod.js');
  } catch {
    return path.join(__dirname, '..', '..', 'bin', 'beyod.js');
  }
}

function currentUser(): string | undefined {
  const name = os.userInfo().username;
  return process.getuid?.() === 0 ? undefined : name;
}

function unitName(id: string): string {
  return id.replace(/[^A-Za-z0-9:_.\\-]+/g, '-') || 'beyod';
}

function parseEnv(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const i = item.indexOf('=');
    if (i <= 0) throw new BeyodError(ErrorCodes.CONFIG_INVALID, `--env ${JSON.stringify(item)}: expected KEY=VALUE`, { env: item });
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** A value in a unit file: % starts a specifier, so it is doubled. */
function escapeValue(s: string): string {
  return s.replaceAll('%', '%%');
}

/**
 * One word of ExecStart= (or, with `exec` false, an Environment= assignment): quoted when
 * needed, % doubled (specifiers) and, in commands, $ doubled (variable expansion).
 */
export function quoteArg(s: string, exec = true): string {
  const v = exec ? escapeValue(s).replaceAll('$', '$$$$') : escapeValue(s);
  return /[\s"'\\;]/.test(v) || v === '' ? `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"` : v;
}
