import * as path from 'node:path';
import { Application, type Listener, mergeConfig } from '@beyod/core';
import type { Cleanup } from 'test-helpers';
import config from '../config/main';

/**
 * The example as `beyod start --single` would run it: config/main.ts through the Application
 * (DI, the app directory as basePath) and worker 1 of its server, in this process, with the
 * chat listener moved to a free port. Stopped by `cleanup`.
 */
export async function startChat(cleanup: Cleanup): Promise<Listener> {
  const app = new Application(mergeConfig(config, { components: { server: { listeners: { chat: { listen: 'tcp://127.0.0.1:0' } } } } }), {
    basePath: path.resolve(__dirname, '..'),
  });
  await app.server.startWorker(1);
  cleanup.defer(() => app.server.stopWorker(0));
  const l = app.server.getListener('chat');
  if (!l) throw new Error('the chat listener did not start');
  return l;
}
