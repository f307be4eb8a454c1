/**
 * The websocket-chat example in a real browser: headless Chromium (Debian's `chromium`, found
 * on PATH) driven by playwright-core. Two pages join; a message sent from one appears in the
 * other. Without a browser the test is skipped with a message, unless BEYOD_REQUIRE_BROWSER=1
 * (CI), where a missing browser fails it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { Cleanup, tmpDir } from 'test-helpers';
import { startChat } from '../../../examples/websocket-chat/test/startChat';
import { beyod, portOf, startExample } from '../../cli/test/harness';

const CHAT_CONFIG = path.resolve(__dirname, '../../../examples/websocket-chat/config/main.ts');

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function findBrowser(): string | undefined {
  if (process.env.BEYOD_CHROMIUM) return process.env.BEYOD_CHROMIUM;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of CANDIDATES) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      } catch {
        /* not here */
      }
    }
  }
  return undefined;
}

const browserPath = findBrowser();
const required = process.env.BEYOD_REQUIRE_BROWSER === '1';
if (!browserPath && !required) {
  console.warn(
    `browser test SKIPPED: no ${CANDIDATES.join(' / ')} on PATH (apt-get install chromium; BEYOD_REQUIRE_BROWSER=1 makes this a failure)`,
  );
}

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function launch(): Promise<BrowserContext> {
  if (!browserPath)
    throw new Error(`BEYOD_REQUIRE_BROWSER=1 but no ${CANDIDATES.join(' / ')} on PATH: install chromium (apt-get install chromium)`);
  const profile = tmpDir('beyod-chromium-');
  cleanup.defer(() => fs.rmSync(profile, { recursive: true, force: true }));
  // launchPersistentContext takes the fresh profile directory (playwright refuses --user-data-dir in args).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: browserPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
  cleanup.add(context, (c) => c.close());
  return context;
}

/** Two chat pages: Alice (renamed) and Bob, each seeing the other in the user list. */
async function aliceAndBob(context: BrowserContext, url: string): Promise<{ alice: Page; bob: Page }> {
  const alice = await context.newPage();
  await alice.goto(url);
  await alice.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 10_000 });
  await alice.fill('#nickname', 'Alice');
  await alice.click('#rename');
  await alice.locator('#users li', { hasText: 'Alice' }).waitFor({ timeout: 10_000 });
  const bob = await context.newPage();
  await bob.goto(url);
  await bob.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 10_000 });
  await alice.locator('#users li').nth(1).waitFor({ timeout: 10_000 });
  return { alice, bob };
}

(browserPath || required ? describe : describe.skip)('websocket-chat in headless Chromium', () => {
  it('two pages join; a message sent from one appears in the other, and the user list follows', async () => {
    const context = await launch();
    const l = await startChat(cleanup);
    const url = `http://127.0.0.1:${l.port}/`;

    const { alice, bob } = await aliceAndBob(context, url);
    expect(await alice.locator('#users li').count()).toBe(2);

    await bob.fill('#text', 'hello from bob <script>');
    await bob.click('#send');
    const seen = alice.locator('#messages li.message', { hasText: 'hello from bob <script>' });
    await seen.waitFor({ timeout: 10_000 });
    expect(await seen.locator('.text').textContent()).toBe('hello from bob <script>');

    await bob.close();
    await alice.locator('#users li').nth(1).waitFor({ state: 'detached', timeout: 10_000 });
    expect(await alice.locator('#users li').count()).toBe(1);
  });

  it('a beyod reload does not disconnect the page: it stays connected and chats on with the new worker', async () => {
    const context = await launch();
    const chat = await startExample('websocket-chat', { CHAT_LISTEN: 'tcp://127.0.0.1:0', CHAT_WORKERS: '1' }, cleanup);
    const before = await chat.status();
    const url = `http://127.0.0.1:${portOf(before)}/`;
    const { alice, bob } = await aliceAndBob(context, url);
    // from now on, every text the status line shows ("disconnected, reconnecting…" on a close)
    // (page code as a string: this project is type-checked without the DOM library)
    for (const page of [alice, bob]) {
      await page.evaluate(`(() => {
        const status = document.getElementById('status');
        window.statuses = [];
        new MutationObserver(() => window.statuses.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
      })()`);
    }

    const r = await beyod(['reload', '--config', CHAT_CONFIG, ...chat.args], chat.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\(\d+ connections moved, 0 drained\)/);
    const after = await chat.status();
    expect(after.workers[0]!.pid).not.toBe(before.workers[0]!.pid);

    await bob.fill('#text', 'after the reload');
    await bob.click('#send');
    await alice.locator('#messages li.message', { hasText: 'after the reload' }).waitFor({ timeout: 10_000 });
    expect(await alice.locator('#users li').count()).toBe(2);
    await alice.locator('#users li', { hasText: 'Alice' }).waitFor({ timeout: 10_000 });
    for (const page of [alice, bob]) {
      expect(await page.evaluate('window.statuses')).toEqual([]);
      expect(await page.locator('#status').textContent()).toBe('connected');
    }
  });
});
