/**
 * The bench commands that each measure one thing and print it, with their own positional arguments and options
 * (no JSON result, no figure; not part of `bench all`): the figures docs/ quotes from them.
 */
import * as A from '../src/cli/args';
import type { BenchIo, MeasureCommand } from './common';
import { ggufConvert } from './peer/ggufConvert';
import { callRule } from './runtime/callRule';
import { callTime } from './runtime/callTime';
import { fastQ4 } from './runtime/fastQ4';
import { ipcCost } from './runtime/ipcCost';
import { variantMemory } from './runtime/variantMemory';

const COMMANDS: Record<string, MeasureCommand> = {
  'call-time': callTime,
  'call-rule': callRule,
  ipc: ipcCost,
  'variant-memory': variantMemory,
  'fast-q4': fastQ4,
  'gguf-convert': ggufConvert,
};

/** Their names, in the order the help lists them. */
export const MEASURE_COMMANDS: readonly string[] = Object.keys(COMMANDS);

const common = {
  help: A.flag('show this help', 'h'),
  debug: A.flag('print stack traces on errors'),
};

function lookup(name: string): MeasureCommand {
  const c = COMMANDS[name];
  if (c === undefined) throw new A.UsageError(`unknown bench '${name}'`);
  return c;
}

/** `lockstep bench <name> --help`. */
export function measureHelp(name: string): string {
  const c = lookup(name);
  return `lockstep bench ${name} ${c.usage}\n${c.about}\n\nOptions:\n${A.describeOptions({ ...common, ...c.options })}`;
}

/** One line per command for `lockstep bench --help`. */
export function measureSummary(): string {
  return MEASURE_COMMANDS.map((n) => `  lockstep bench ${n} ${lookup(n).usage}`).join('\n');
}

export async function measureCommand(name: string, argv: string[], io: BenchIo): Promise<number> {
  const c = lookup(name);
  const { options, positionals } = A.parseArgs(argv, { ...common, ...c.options });
  if (options.help) {
    io.stdout(`${measureHelp(name)}\n`);
    return 0;
  }
  await c.run(options, positionals, io);
  return 0;
}
