#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
// The benchmarks are their own bundle (dist/bench.js, from bench/index.ts); everything else is the CLI's (dist/cli.js).
const args = process.argv.slice(2);
const bench = args[0] === 'bench' || (args[0] === 'help' && args[1] === 'bench');
const entry = path.join(__dirname, '..', 'dist', bench ? 'bench.js' : 'cli.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('lockstep: the CLI is not built; run `npm run build` (npm ci does it) in ' + path.dirname(__dirname) + '\n');
  process.exit(1);
}
require(entry);
