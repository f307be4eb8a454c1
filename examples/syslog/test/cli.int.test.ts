import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Cleanup, tmpDir, until } from 'test-helpers';
import { startExample } from '../../../packages/cli/test/harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

// The collector as users run it: `beyod start`, 2 workers sharing a UDP and a TCP port.
it('collects over UDP and TCP through the CLI', async () => {
  const dir = tmpDir();
  cleanup.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'syslog.log');
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port; // free for TCP; UDP on the same number
  await new Promise((r) => probe.close(r));
  await startExample(
    'syslog',
    { SYSLOG_FILE: file, SYSLOG_UDP: `udp://127.0.0.1:${port}`, SYSLOG_TCP: `tcp://127.0.0.1:${port}` },
    cleanup,
  );

  const udp = dgram.createSocket('udp4');
  cleanup.add(udp, (u) => u.close());
  udp.send('<34>1 2026-11-25T10:00:00Z host app 1 ID47 - over udp', port, '127.0.0.1');
  const tcp = net.connect(port, '127.0.0.1');
  cleanup.add(tcp, (t) => t.destroy());
  const msg = '<13>Nov 25 10:00:00 host app: over tcp';
  tcp.write(`${Buffer.byteLength(msg)} ${msg}`);

  const log = await until(
    () => {
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      return text.includes('over udp') && text.includes('over tcp') ? text : undefined;
    },
    5000,
    'both messages in the log',
  );
  expect(log.split('\n').filter(Boolean)).toHaveLength(2);
});
