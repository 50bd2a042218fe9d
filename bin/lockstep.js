#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('lockstep: the CLI is not built; run `npm run build` (npm ci does it) in ' + path.dirname(__dirname) + '\n');
  process.exit(1);
}
require(cli);
