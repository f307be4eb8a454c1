import * as path from 'node:path';
import { Application, mergeConfig } from '@beyod/core';
import { Cleanup } from 'test-helpers';
import config from '../config/main';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** config/main.ts through the Application and worker 1 of its server, on a free port. */
async function startSite(): Promise<string> {
  const app = new Application(mergeConfig(config, { components: { server: { listeners: { web: { listen: 'tcp://127.0.0.1:0' } } } } }), {
    basePath: path.resolve(__dirname, '..'),
  });
  await app.server.startWorker(1);
  cleanup.defer(() => app.server.stopWorker(0));
  return `http://127.0.0.1:${app.server.getListener('web')?.port ?? 0}`;
}

describe('http-static example', () => {
  it('serves public/ with an index page and a directory listing', async () => {
    const base = await startSite();
    expect(await (await fetch(`${base}/`)).text()).toContain('Served by beyod');
    expect(await (await fetch(`${base}/docs/`)).text()).toContain('<a href="readme.txt">readme.txt</a>');
    expect((await fetch(`${base}/nothing-here`)).status).toBe(404);
  });

  it('/api/hello counts visits with a cookie; /api/upload takes a multipart form', async () => {
    const base = await startSite();
    const first = await fetch(`${base}/api/hello?name=test`);
    expect(await first.json()).toEqual({ hello: 'test', visits: 1 });
    const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(await (await fetch(`${base}/api/hello`, { headers: { cookie } })).json()).toEqual({ hello: 'world', visits: 2 });
    const fd = new FormData();
    fd.append('title', 'notes');
    fd.append('file', new Blob(['line one\nline two']), 'notes.txt');
    const up = (await (await fetch(`${base}/api/upload`, { method: 'POST', body: fd })).json()) as {
      fields: unknown;
      files: Array<Record<string, unknown>>;
    };
    expect(up.fields).toEqual({ title: 'notes' });
    expect(up.files[0]).toMatchObject({ field: 'file', filename: 'notes.txt', size: 17, head: 'line one\nline two' });
  });
});
