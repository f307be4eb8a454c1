import { Listener, type ListenerDefinition } from '@beyod/core';
import { Client } from '@beyod/dispatcher';
import { Cleanup } from 'test-helpers';
import config from '../config/main';
import { dispatcherStats } from '../scripts/stats';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('examples/dispatcher', () => {
  it('runs one worker on port 2491', () => {
    const server = config.components.server;
    expect(server.workerNum).toBe(1);
    expect(server.listeners.dispatcher.listen).toBe(process.env.DISPATCHER_LISTEN ?? 'tcp://0.0.0.0:2491');
  });

  it('its listener definition serves clients, and scripts/stats.ts reads the figures', async () => {
    const def: ListenerDefinition = { ...config.components.server.listeners.dispatcher, listen: 'tcp://127.0.0.1:0' };
    const listener = Object.assign(new Listener(), def);
    listener.init();
    await listener.start();
    cleanup.add(listener, (l) => l.stop(0));
    const target = `tcp://127.0.0.1:${listener.port}`;
    const c = new Client({ target, defaultChannel: 'demo' });
    cleanup.add(c, (x) => x.close());
    await c.connect();
    await c.set('k', 'v');
    await c.qpush('q', 1);
    expect(await dispatcherStats(target)).toMatchObject({ clients: 2, channels: 1, keys: 1, queued: 1 });
  });
});
