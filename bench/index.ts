#!/usr/bin/env node
/** dist/bench.js, which bin/lockstep.js starts for `lockstep bench …`: runs it and sets the exit code. */
import { benchMain } from './main';

benchMain(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`lockstep: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
