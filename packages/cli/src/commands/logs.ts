/*
 * `beyod logs`: the last lines of a server's log file, and -f to follow it (across a rotation,
 * like `tail -F`). `--reopen` asks a running server to reopen its log file (logrotate's
 * postrotate).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BeyodError, ErrorCodes, controlRequest, prettyLog } from '@beyod/core/internal';
import type { Argv } from 'yargs';
import { probeConfig } from '../configProbe';
import { appDirOption, findConfig } from '../loadApp';
import { type Common, findServer } from '../serverControl';

interface LogsArgs extends Common {
  follow?: boolean;
  lines: number;
  json?: boolean;
  reopen?: boolean;
}

/** How often a followed file is looked at for new lines or a rotation. */
const FOLLOW_POLL_MS = 200;
/** Read backwards in blocks of this size to find the last lines. */
const TAIL_BLOCK = 64 * 1024;

export const logsCommand = {
  command: 'logs',
  describe: "the server's log file: its last lines, or follow it (-f)",
  builder: (y: Argv) =>
    y
      .option('follow', { alias: 'f', type: 'boolean', describe: 'keep printing new lines (follows the file across a rotation)' })
      .option('lines', { alias: 'n', type: 'number', default: 20, describe: 'how many of the last lines to print first' })
      .option('json', { type: 'boolean', describe: 'print the JSON lines as they are (the default when stdout is not a terminal)' })
      .option('reopen', { type: 'boolean', describe: 'ask the running server to reopen its log file (after logrotate moved it)' }),
  handler: logs,
};

async function logs(a: LogsArgs): Promise<number> {
  if (!Number.isInteger(a.lines) || a.lines < 0)
    throw new BeyodError(ErrorCodes.CONFIG_INVALID, `--lines: expected an integer >= 0, got ${a.lines}`);
  if (a.reopen) {
    const { socket, hello } = await findServer(a);
    const r = await controlRequest<{ logFile: string }>(socket, { cmd: 'reopen-logs' });
    if (!r.logFile) throw noFile(`'${hello.id}' (pid ${hello.pid}) logs to its standard output: there is no file to reopen`);
    process.stderr.write(`'${hello.id}' (pid ${hello.pid}) reopened ${r.logFile}\n`);
    return 0;
  }
  const file = await logFileOf(a);
  const print = printer(!a.json && Boolean(process.stdout.isTTY));
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !a.follow) throw noFile(`no log file at ${file}`);
    process.stderr.write(`waiting for ${file} ...\n`);
    return follow(file, undefined, 0, print);
  }
  const { text, end } = lastLines(fd, a.lines);
  print(text);
  if (!a.follow) {
    fs.closeSync(fd);
    return 0;
  }
  process.stderr.write(`following ${file} (Ctrl-C stops)\n`);
  return follow(file, fd, end, print);
}

function noFile(message: string): BeyodError {
  return new BeyodError(ErrorCodes.NO_LOG_FILE, message);
}

/**
 * The file the server writes: the running server says (over its control socket); else the
 * config's `log.file` or `logFile`; else `runtime/beyod.log` in the app directory.
 */
async function logFileOf(a: Common): Promise<string> {
  try {
    const { hello } = await findServer(a);
    if (hello.logFile) return hello.logFile;
    if (hello.logFile === '') {
      throw noFile(
        `'${hello.id}' (pid ${hello.pid}) runs in the foreground and logs to its standard output, not to a file ` +
          '(see its terminal, `journalctl -u <unit>` or `docker logs`); `beyod start --daemon`, or `log.file` in the config, writes one',
      );
    }
  } catch (e) {
    if ((e as BeyodError).code !== ErrorCodes.NOT_RUNNING) throw e;
  }
  try {
    const settings = await probeConfig(findConfig(a.config));
    return settings.log.file || settings.logFile;
  } catch {
    return path.join(appDirOption(a.config), 'runtime', 'beyod.log');
  }
}

/** Write lines to stdout: as they are, or as human lines (pino-pretty) on a terminal. */
function printer(pretty: boolean): (text: string) => void {
  const prettify = pretty ? prettyLog(true) : undefined;
  return (text) => {
    if (!text) return;
    if (!prettify) {
      process.stdout.write(text);
      return;
    }
    for (const line of text.split('\n')) if (line) process.stdout.write(line.startsWith('{') ? prettify(`${line}\n`) : `${line}\n`);
  };
}

/** The last `n` complete lines of the file (read backwards, block by block), and the file's size. */
function lastLines(fd: number, n: number): { text: string; end: number } {
  const end = fs.fstatSync(fd).size;
  if (n === 0) return { text: '', end };
  const blocks: Buffer[] = [];
  let pos = end;
  let newlines = 0;
  let start = 0;
  while (pos > 0) {
    const size = Math.min(TAIL_BLOCK, pos);
    pos -= size;
    const b = Buffer.alloc(size);
    fs.readSync(fd, b, 0, size, pos);
    blocks.unshift(b);
    // the file's last byte is a newline: it ends the last line, it does not start one
    for (let i = size - 1; i >= 0; i--) {
      if (b[i] !== 10 || pos + i === end - 1) continue;
      if (++newlines === n) {
        start = pos + i + 1;
        break;
      }
    }
    if (newlines === n) break;
  }
  const all = Buffer.concat(blocks);
  return { text: all.subarray(start - pos).toString('utf8'), end };
}

/**
 * Print what is appended to `file` from `pos` on, for ever (until Ctrl-C). When the name
 * points at another file (logrotate moved it and the server reopened), the rest of the old
 * one is printed, then the new one from its start; a file truncated in place (copytruncate)
 * is read again from its start.
 */
async function follow(file: string, fd: number | undefined, pos: number, print: (text: string) => void): Promise<number> {
  let ino = fd === undefined ? -1 : fs.fstatSync(fd).ino;
  let partial = '';
  const drain = () => {
    if (fd === undefined) return;
    const b = Buffer.alloc(TAIL_BLOCK);
    for (;;) {
      const n = fs.readSync(fd, b, 0, b.length, pos);
      if (n <= 0) break;
      pos += n;
      const text = partial + b.subarray(0, n).toString('utf8');
      const last = text.lastIndexOf('\n');
      print(text.slice(0, last + 1));
      partial = text.slice(last + 1);
    }
  };
  for (;;) {
    drain();
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(file);
    } catch {
      st = undefined; // between the move and the reopen: keep reading the old one
    }
    if (st && st.ino !== ino) {
      drain();
      if (partial) print(`${partial}\n`);
      partial = '';
      if (fd !== undefined) fs.closeSync(fd);
      try {
        fd = fs.openSync(file, 'r');
        ino = fs.fstatSync(fd).ino;
        pos = 0;
      } catch {
        fd = undefined;
        ino = -1;
      }
    } else if (st && fd !== undefined && st.size < pos) {
      pos = 0; // truncated in place
      partial = '';
    }
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
  }
}
