import { Cleanup } from 'test-helpers';
import { portOf, startExample } from '../../../packages/cli/test/harness';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

// The example as users run it: `beyod start`, 2 workers sharing the port.
it('serves files and the API from both workers through the CLI', async () => {
  const site = await startExample('http-static', { HTTP_LISTEN: 'tcp://127.0.0.1:0' }, cleanup);
  const s = await site.status();
  expect(s.workers).toHaveLength(2);
  const base = `http://127.0.0.1:${portOf(s)}`;
  const page = await fetch(`${base}/`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const hello = await fetch(`${base}/api/hello?name=cli`);
  expect(await hello.json()).toEqual({ hello: 'cli', visits: 1 });
  expect((await fetch(`${base}/nope`)).status).toBe(404);
  expect((await fetch(`${base}/%2e%2e/%2e%2e/package.json`)).status).not.toBe(200);
  const after = await site.status();
  expect(after.workers.reduce((n, w) => n + w.messagesIn, 0)).toBeGreaterThanOrEqual(4);
});
