// npm run pack:tarballs [-- <dir>]: `npm pack` every published package into <dir> (default
// ./tarballs), each built clean by its prepack script. An app made with
// `beyod new <app> --from-tarballs <dir>` (or `npm run new -- <app>`) installs from them.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// relative to the current directory: the clone's root under `npm run`, as for `beyod new` after it
const dest = path.resolve(process.argv[2] ?? path.join(root, 'tarballs'));
const packages = ['core', 'protocols', 'dispatcher', 'create-beyod', 'cli'];
fs.mkdirSync(dest, { recursive: true });
const args = ['pack', '--pack-destination', dest, '--loglevel', 'warn', ...packages.flatMap((p) => ['--workspace', `packages/${p}`])];
const out = execFileSync('npm', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const files = out.split('\n').filter((l) => l.endsWith('.tgz'));
process.stderr.write(`${files.length} tarballs in ${dest}:\n${files.map((f) => `  ${f}`).join('\n')}\n`);
