import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningApp, startApp } from '@beyod/cli';

// The app as config/main.ts builds it, on a real socket, inside this test process (one worker,
// no master). Port 0 lets the system pick a free port; app.port('web') reads it back.
let app: RunningApp;
let base: string;
before(async () => {
  app = await startApp({ cwd: path.resolve(__dirname, '..'), listen: { web: 'tcp://127.0.0.1:0' } });
  base = `http://127.0.0.1:${app.port('web')}`;
});
after(() => app.stop());

test('a route answers JSON', async () => {
  const res = await fetch(`${base}/api/hello/beyod`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { hello: 'beyod', worker: 1, gpid: 65537 });
});

test('static files come from public/', async () => {
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await res.text(), /<h1>__APP_NAME__<\/h1>/);
});

test('no way out of public/, and unknown paths are 404', async () => {
  assert.equal((await fetch(`${base}/nothing-here`)).status, 404);
  assert.equal((await fetch(`${base}/..%2fpackage.json`)).status, 404);
});
