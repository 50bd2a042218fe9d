/**
 * `lockstep bench …` and `lockstep help bench`: the benchmarks live in bench/ (bench/cli.ts) and are loaded only when
 * one of these runs; nothing in src/ imports bench/ statically. esbuild still bundles them into dist/cli.js (a
 * require of a literal relative path).
 */
import { CliIo } from './io';

/** What bench/cli.ts exports to the CLI. */
interface BenchCli {
  benchCommand(argv: string[], io: CliIo): Promise<number>;
  benchHelp(sub?: string): string;
}

function loadBench(): BenchCli {
  return require('../../bench/cli') as BenchCli;
}

export function benchCommand(argv: string[], io: CliIo): Promise<number> {
  return loadBench().benchCommand(argv, io);
}

export function benchHelp(): string {
  return loadBench().benchHelp();
}
