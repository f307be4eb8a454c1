// `prepack` of every package (npm pack, npm publish, lerna publish): a clean build of the
// package in the current directory, so a tarball never ships dist files whose source was
// removed or moved (tsc -b alone leaves them behind). Packages it depends on are built by
// tsc -b only when out of date.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dir = process.cwd();
fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
fs.rmSync(path.join(dir, 'tsconfig.tsbuildinfo'), { force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', dir], { stdio: 'inherit' });
