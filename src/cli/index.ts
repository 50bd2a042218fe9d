#!/usr/bin/env node
/** The `lockstep` executable: runs the CLI and sets the exit code (output is flushed before node exits). */
import { main } from './main';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`lockstep: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
