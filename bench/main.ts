/**
 * The benchmarks' command line: `lockstep bench …` and `lockstep help bench [sub-command]`. bin/lockstep.js starts
 * bench/'s own bundle (dist/bench.js, from bench/index.ts) for these and the CLI's (dist/cli.js) for everything else,
 * so src/ never loads bench/. Errors are printed as the CLI prints them: one line, the stack only under --debug.
 */
import { UsageError } from '../src/cli/args';
import { withCatalogNotices } from '../src/cli/engineOpen';
import { type CliIo, EXIT_RUNTIME, EXIT_USAGE, oneLine, processIo } from '../src/cli/io';
import { benchCommand, benchHelp } from './cli';

/** True when `lockstep <argv>` is one of bench's commands (what bin/lockstep.js routes to dist/bench.js). */
export function isBenchArgv(argv: readonly string[]): boolean {
  return argv[0] === 'bench' || (argv[0] === 'help' && argv[1] === 'bench');
}

/** Runs `lockstep <argv>` for bench's commands; returns the exit code. */
export async function benchMain(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const out: CliIo = { ...processIo(), ...io };
  // Catalog warnings go to this command's stderr, each once however often the command opens the catalog.
  return withCatalogNotices((t) => out.stderr(t), () => runBench(argv, out));
}

async function runBench(argv: string[], out: CliIo): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    if (argv[0] === 'help' && argv[1] === 'bench') {
      out.stdout(`${benchHelp(argv[2])}\n`);
      return 0;
    }
    if (argv[0] === 'bench') return await benchCommand(argv.slice(1), out);
    throw new UsageError(`this entry runs only 'lockstep bench …' and 'lockstep help bench' (got '${argv.join(' ')}'); see 'lockstep --help'`);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    out.stderr(`lockstep: ${oneLine(err.message)}\n`);
    if (debug && err.stack) out.stderr(`${err.stack}\n`);
    return e instanceof UsageError ? EXIT_USAGE : EXIT_RUNTIME;
  }
}
