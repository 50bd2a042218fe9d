/** `lockstep help [command]`, `lockstep --help` and `lockstep --version`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../models/catalog';
import { downloadHelp } from './downloadCommand';
import { UsageError } from './args';
import { completeHelp } from './completeCommand';
import { exportFusedHelp } from './exportFusedCommand';
import { serveHelp } from './serveCommand';
import { CliIo, EXIT_STATUS_HELP } from './io';
import { verifyHelp } from './verifyCommand';

export const USAGE = `lockstep — local code completion with drafter-invariant speculative decoding

Usage:
  lockstep complete <file>:<line>:<col> [options]   complete at a cursor (1-based line and column)
  lockstep complete - [options]                      text before the cursor from stdin (or -:<line>:<col>)
  lockstep complete --prefix TEXT [--suffix TEXT]    text around the cursor given directly (taken literally)
  lockstep complete --prefix-file FILE [--suffix-file FILE]   the same from files (- = stdin)
  lockstep verify [options]                          check that every drafter gives byte-identical text
  lockstep bench [speed|coupling|overhead|invariance|latency|all|soak] [options]
                                                     benchmarks: speedup, coupling quality, overhead, invariance, latency;
                                                     soak: typing against the real extension
  lockstep download <id>... [options]                download catalog models from the Hugging Face Hub (--list: what there is)
  lockstep export-fused --model DIR --out DIR        rebuild an fp32 model on onnxruntime's fused operators
  lockstep serve [options]                           serve completions over HTTP (llama.cpp, OpenAI and native APIs)
  lockstep help [command]                            this help, or a command's options
  lockstep --version

Models are catalog ids (models.json) or local directories in the Hugging Face ONNX layout.
Run 'lockstep help <command>' for its options.

${EXIT_STATUS_HELP}`;

/** The benchmarks are bench/'s own bundle (dist/bench.js): bin/lockstep.js starts it for `bench` and `help bench`. */
export const BENCH_ELSEWHERE = "the benchmarks are not in this entry: run 'lockstep bench …' (bin/lockstep.js) or 'npm run bench'";

/** `lockstep help [command]`: the usage, or one command's options. */
export function helpCommand(argv: string[], io: CliIo): number {
  const sub = argv[0];
  if (sub === undefined) io.stdout(`${USAGE}\n`);
  else if (sub === 'complete') io.stdout(`${completeHelp()}\n`);
  else if (sub === 'verify') io.stdout(`${verifyHelp()}\n`);
  else if (sub === 'bench') throw new UsageError(BENCH_ELSEWHERE);
  else if (sub === 'download') io.stdout(`${downloadHelp()}\n`);
  else if (sub === 'export-fused') io.stdout(`${exportFusedHelp()}\n`);
  else if (sub === 'serve') io.stdout(`${serveHelp()}\n`);
  else throw new UsageError(`unknown command '${sub}' (commands: complete, verify, bench, download, export-fused, serve)`);
  return 0;
}

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
