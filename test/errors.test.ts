import * as fs from 'node:fs';
import * as path from 'node:path';
import { BeyodError, ConfigError, ErrorCodes } from '@beyod/core';
import { DispatcherErrorCodes } from '@beyod/dispatcher';
import { http, redis, syslog, websocket } from '@beyod/protocols';
import { CreateErrorCodes } from 'create-beyod';

const doc = fs.readFileSync(path.resolve(__dirname, '../docs/errors.md'), 'utf8');

describe('error codes', () => {
  // every package's codes, in one catalogue
  const all = [
    ...Object.values(ErrorCodes),
    ...Object.values(redis.RedisErrorCodes),
    ...Object.values(syslog.SyslogErrorCodes),
    ...Object.values(http.HttpErrorCodes),
    ...Object.values(websocket.WebSocketErrorCodes),
    ...Object.values(DispatcherErrorCodes),
    ...Object.values(CreateErrorCodes),
  ];

  it.each(all)('%s is documented in docs/errors.md', (code) => {
    expect(doc).toContain(`\`${code}\``);
  });

  it('codes are unique across packages', () => {
    expect(new Set(all).size).toBe(all.length);
  });

  it('the page lists no code that does not exist', () => {
    const documented = [...doc.matchAll(/^\| `(BEYOD_[A-Z_]+)`/gm)].map((m) => m[1]);
    expect(documented.filter((c) => !all.includes(c as never))).toEqual([]);
  });

  it('serialize and rebuild across a process boundary', () => {
    const e = new ConfigError('components.server.workerNum', 'expected a number', '/app/config/main.ts');
    const wire = JSON.parse(JSON.stringify(e)) as unknown;
    const back = BeyodError.from(wire);
    expect(back).toBeInstanceOf(BeyodError);
    expect(back.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(back.message).toBe('/app/config/main.ts: components.server.workerNum: expected a number');
    expect(back.data).toEqual({ path: 'components.server.workerNum', file: '/app/config/main.ts' });
  });
});
