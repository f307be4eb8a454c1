import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/** The descriptor a worker's logger writes its JSON records to (see createLogger). */
export const WORKER_LOG_FD = 4;
/** The stdio of a worker: its stdout, stderr and log records come to the master through pipes. */
export const WORKER_STDIO: Array<'inherit' | 'pipe' | 'ipc'> = ['inherit', 'pipe', 'pipe', 'ipc', 'pipe'];

/** A console line longer than this is cut (a worker printing without newlines). */
const MAX_LINE = 64 * 1024;
/** A log record longer than this is cut and written as a wrapped, truncated record. */
const MAX_RECORD = 1024 * 1024;

type Sink = { write(lines: string): void };

/**
 * Route one worker's output into the master's log, one format per stream: its logger's JSON
 * records (on WORKER_LOG_FD) go through as they are; each line it prints on stdout or stderr
 * (console.log from a handler, a library's warning) becomes a record of its own, with
 * `stream: 'stdout' | 'stderr'`, the worker's id and pid. Lines from different workers never
 * interleave mid-line: each pipe is cut at newlines before it is written.
 */
export function collectWorkerOutput(child: ChildProcess, workerId: number, out: Sink): void {
  const pid = child.pid ?? 0;
  const records = child.stdio[WORKER_LOG_FD] as Readable | null | undefined;
  if (records) {
    splitLines(
      records,
      MAX_RECORD,
      (lines) => out.write(lines),
      (part) => out.write(wrap(pid, workerId, 'log', part, 30, true)),
    );
  }
  const printed = (stream: 'stdout' | 'stderr', level: number) => (lines: string) => {
    let start = 0;
    for (let nl = lines.indexOf('\n'); nl >= 0; start = nl + 1, nl = lines.indexOf('\n', start)) {
      const end = nl > start && lines.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (end > start) out.write(wrap(pid, workerId, stream, lines.slice(start, end), level, false));
    }
  };
  const cut = (stream: 'stdout' | 'stderr', level: number) => (part: string) => out.write(wrap(pid, workerId, stream, part, level, true));
  if (child.stdout) splitLines(child.stdout, MAX_LINE, printed('stdout', 30), cut('stdout', 30));
  if (child.stderr) splitLines(child.stderr, MAX_LINE, printed('stderr', 40), cut('stderr', 40));
}

function wrap(pid: number, workerId: number, stream: string, msg: string, level: number, truncated: boolean): string {
  return `${JSON.stringify({ level, time: Date.now(), pid, workerId, stream, msg, ...(truncated && { truncated }) })}\n`;
}

/**
 * Call `whole` with complete lines (one or several, each ending in a newline), and `cut` with
 * a piece of a line that reached `max` characters without one (or was left when the pipe closed).
 */
function splitLines(stream: Readable, max: number, whole: (lines: string) => void, cut: (part: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    if (pending === '' && chunk.endsWith('\n')) return whole(chunk); // the usual case
    pending += chunk;
    const last = pending.lastIndexOf('\n');
    if (last >= 0) {
      whole(pending.slice(0, last + 1));
      pending = pending.slice(last + 1);
    }
    while (pending.length >= max) {
      cut(pending.slice(0, max));
      pending = pending.slice(max);
    }
  });
  stream.on('end', () => {
    if (pending) cut(pending);
    pending = '';
  });
  stream.on('error', () => {}); // the worker died and its pipe broke: its exit is reported elsewhere
}
