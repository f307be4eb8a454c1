/* The syslog example's listeners, started in-process from its config on free ports. */
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Listener } from '@beyod/core';
import { Cleanup, RawClient, tmpDir, until } from 'test-helpers';
import config from '../config/main';

describe('examples/syslog collector', () => {
  const cleanup = new Cleanup();
  afterEach(() => cleanup.run());

  it('writes what arrives over UDP and TCP, malformed messages marked', async () => {
    const dir = tmpDir('beyod-syslog-example-');
    cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const defs = (config.components as { server: { listeners: Record<string, Record<string, unknown>> } }).server.listeners;
    const listeners: Record<string, Listener> = {};
    for (const [name, def] of Object.entries(defs)) {
      const listen = String(def.listen).replace(/0\.0\.0\.0:\d+$/, '127.0.0.1:0');
      const l = Object.assign(new Listener(), def, { name, listen, basePath: dir });
      await l.start();
      cleanup.defer(() => l.stop());
      listeners[name] = l;
    }
    const udp = cleanup.add(dgram.createSocket('udp4'), (s) => s.close());
    udp.send('<131>1 2024-05-06T07:08:09.010Z web-1 api 42 - - request failed', listeners.udp!.port, '127.0.0.1');
    const tcp = cleanup.add(await RawClient.connect({ host: '127.0.0.1', port: listeners.tcp!.port }), (c) => c.destroy());
    tcp.write('<13>Feb  5 17:32:18 db-2 cron[7]: nightly job\nno pri here\n');
    const file = path.join(dir, 'runtime/syslog.log');
    const lines = await until(() => {
      const l = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
      return l.length >= 3 ? l : undefined;
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^2024-05-06T07:08:09\.010Z 127\.0\.0\.1:\d+ local0\.err web-1 api\[42\]: request failed$/),
        expect.stringMatching(/ user\.notice db-2 cron\[7\]: nightly job$/),
        expect.stringMatching(/ - - no pri here \[malformed: missing or invalid PRI/),
      ]),
    );
  });
});
