/**
 * The `lockstep` command line: complete, verify, bench, download.
 *
 *   lockstep complete <file>:<line>:<col>   one completion at a cursor (1-based line and column): completeCommand.ts
 *   lockstep verify                         the same prompts and seeds through several drafters/couplings/γ:
 *                                           the text must be byte-identical (drafter invariance): verifyCommand.ts
 *   lockstep bench [sub-command]            the benchmarks: bench/'s own entry (dist/bench.js), which bin/lockstep.js
 *                                           starts for `bench` and `help bench`; src/ never loads bench/
 *   lockstep download <id>...               fetch catalog models from the Hugging Face Hub (src/cli/downloadCommand.ts)
 *   lockstep export-fused --model D --out D rebuild an fp32 model on onnxruntime's fused operators (exportFusedCommand.ts)
 *   lockstep serve                          the engine over HTTP for other editors and teams (serveCommand.ts, src/server/)
 *
 * main() parses the command and dispatches; it returns the exit code; every error is one line on stderr
 * (`lockstep: <message>`), with the stack only under --debug.
 */
import { downloadCommand } from './downloadCommand';
import { UsageError } from './args';
import { completeCommand } from './completeCommand';
import { exportFusedCommand } from './exportFusedCommand';
import { serveCommand } from './serveCommand';
import { withCatalogNotices } from './engineOpen';
import { BENCH_ELSEWHERE, USAGE, helpCommand, packageVersion } from './help';
import { CliIo, EXIT_RUNTIME, EXIT_USAGE, oneLine, processIo } from './io';
import { verifyCommand } from './verifyCommand';

export async function main(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const out: CliIo = { ...processIo(), ...io };
  // Catalog warnings go to this command's stderr, each once however often the command opens the catalog.
  return withCatalogNotices((t) => out.stderr(t), () => runCommand(argv, out));
}

async function runCommand(argv: string[], out: CliIo): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '--help' || cmd === '-h') {
      out.stdout(`${USAGE}\n`);
      return 0;
    }
    if (cmd === 'help') return helpCommand(rest, out);
    if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
      out.stdout(`lockstep ${packageVersion()}\n`);
      return 0;
    }
    switch (cmd) {
      case 'complete':
        return await completeCommand(rest, out);
      case 'verify':
        return await verifyCommand(rest, out);
      case 'bench':
        throw new UsageError(BENCH_ELSEWHERE);
      case 'download':
        return await downloadCommand(rest, out);
      case 'export-fused':
        return await exportFusedCommand(rest, out);
      case 'serve':
        return await serveCommand(rest, out);
      default:
        if (cmd.startsWith('-')) throw new UsageError(`expected a command before ${cmd} (commands: complete, verify, bench, download, export-fused, serve)`);
        throw new UsageError(`unknown command '${cmd}' (commands: complete, verify, bench, download, export-fused, serve; see 'lockstep --help')`);
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    out.stderr(`lockstep: ${oneLine(err.message)}\n`);
    if (debug && err.stack) out.stderr(`${err.stack}\n`);
    return e instanceof UsageError ? EXIT_USAGE : EXIT_RUNTIME;
  }
}
