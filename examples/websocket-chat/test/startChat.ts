import * as path from 'node:path';
import { Listener } from '@beyod/core';
import type { Cleanup } from 'test-helpers';
import config from '../config/main';

/** The chat listener of config/main.ts, started in this process on a free port (stopped by `cleanup`). */
export async function startChat(cleanup: Cleanup): Promise<Listener> {
  const def = config.components.server.listeners.chat;
  const l = Object.assign(new Listener(), def, { name: 'chat', listen: 'tcp://127.0.0.1:0', basePath: path.resolve(__dirname, '..') });
  l.init();
  await l.start();
  cleanup.add(l, (x) => x.stop(0));
  return l;
}
