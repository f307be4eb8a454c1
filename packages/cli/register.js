// `node -r @beyod/cli/register script.ts` runs a TypeScript file with the same loader as the CLI.
'use strict';
require('./dist/register').registerTypeScript();
