import * as fs from 'node:fs';
import * as path from 'node:path';
import { BeyodError, ConfigError, ErrorCodes } from '@beyod/core';

const doc = fs.readFileSync(path.resolve(__dirname, '../../../docs/errors.md'), 'utf8');

describe('error codes', () => {
  it.each(Object.values(ErrorCodes))('%s is documented in docs/errors.md', (code) => {
    expect(doc).toContain(`\`${code}\``);
  });

  it('codes are unique', () => {
    const codes = Object.values(ErrorCodes);
    expect(new Set(codes).size).toBe(codes.length);
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
