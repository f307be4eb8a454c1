import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ErrorEvent, Handler, type MessageEvent } from '@beyod/core';
import { syslog } from '@beyod/protocols';

/**
 * Writes every syslog message it receives to `file`, one line each:
 *
 *     2024-05-06T07:08:09.010Z 10.0.0.7:51234 local0.err web-1 api[42]: request failed
 *
 * (or one JSON object per line with format: 'json'). Malformed messages are written too,
 * marked with what is wrong, since a collector should lose nothing.
 */
export class SyslogCollector extends Handler {
  /** Where to write; relative to the app directory. */
  file = 'runtime/syslog.log';
  format: 'text' | 'json' = 'text';
  private out: fs.WriteStream | undefined;

  override onMessage(event: MessageEvent<syslog.SyslogMessage>): void {
    const m = event.message;
    this.stream().write(
      this.format === 'json' ? `${JSON.stringify({ peer: event.sender.peer, ...m })}\n` : `${line(event.sender.peer, m)}\n`,
    );
  }

  override onBadPacket(event: ErrorEvent): void {
    this.stream().write(`${new Date().toISOString()} ${event.sender.peer} [dropped: ${event.error.message}]\n`);
  }

  override onStopAccept(): void {
    this.out?.end();
    this.out = undefined;
  }

  private stream(): fs.WriteStream {
    if (this.out === undefined) {
      const file = path.resolve(this.listener?.basePath ?? process.cwd(), this.file);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      // O_APPEND: the workers (and the udp and tcp listeners) share the file, line by line.
      this.out = fs.createWriteStream(file, { flags: 'a' });
    }
    return this.out;
  }
}

function line(peer: string, m: syslog.SyslogMessage): string {
  const when = (m.timestamp ?? new Date()).toISOString();
  const pri = m.facility === undefined ? '-' : `${syslog.FACILITIES[m.facility]}.${syslog.SEVERITIES[m.severity ?? 0]}`;
  const app = m.appName === undefined ? '' : `${m.appName}${m.procId === undefined ? '' : `[${m.procId}]`}: `;
  const text = (m.message ?? '').replace(/\n/g, '\\n');
  const bad = m.error === undefined ? '' : ` [malformed: ${m.error}]`;
  return `${when} ${peer} ${pri} ${m.hostname ?? '-'} ${app}${text}${bad}`;
}
