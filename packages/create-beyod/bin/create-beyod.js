#!/usr/bin/env node
'use strict';
// `npm init beyod my-app` (or `npm create beyod my-app`) runs this.
process.exitCode = require('../dist/main.js').main(process.argv.slice(2));
