import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from 'test-helpers';
import { beyod } from './harness';

// `beyod new` is create-beyod behind the CLI (its templates are tested in packages/create-beyod).
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const scratch = () => {
  const d = tmpDir('beyod-new-');
  dirs.push(d);
  return d;
};

it('beyod new <dir> --template websocket writes the app and says what to do next', async () => {
  const dir = path.join(scratch(), 'chat');
  const r = await beyod(['new', dir, '--template', 'websocket'], process.env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Created chat from the websocket template in /);
  expect(r.stdout).toMatch(/npm install\n {2}npm start/);
  expect(fs.readFileSync(path.join(dir, 'app/ChatHandler.ts'), 'utf8')).toContain('class ChatHandler extends websocket.Handler');
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))).toMatchObject({ name: 'chat' });
});

it('refuses a directory with files in it, an unknown template and missing tarballs, writing nothing', async () => {
  const full = scratch();
  fs.writeFileSync(path.join(full, 'keep.txt'), 'mine');
  const r = await beyod(['new', full], process.env);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(`beyod: ${full} is not empty (keep.txt); choose a new directory\n`);
  expect(fs.readdirSync(full)).toEqual(['keep.txt']);

  const dir = path.join(scratch(), 'app');
  const bad = await beyod(['new', dir, '--template', 'chat'], process.env);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/Given: "chat", Choices: "echo", "cluster", "http", "websocket"/);
  expect(fs.existsSync(dir)).toBe(false);

  const none = await beyod(['new', dir, '--from-tarballs', path.join(dir, 'nowhere')], process.env);
  expect(none.code).toBe(1);
  expect(none.stderr).toMatch(/^beyod: --from-tarballs: .*nowhere is not a directory\n$/);
  expect(fs.existsSync(dir)).toBe(false);
});
