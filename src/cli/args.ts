/**
 * A small typed command-line parser (no dependency): `--name value`, `--name=value`, repeatable options, boolean
 * flags, positionals and `--` (everything after it is positional). Unknown options and bad values throw a
 * UsageError whose message names the option.
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Turns a raw string into a value; throws UsageError (via fail) on a bad one. `flag` is e.g. "--seed". */
export type ValueParser<T> = (raw: string, flag: string) => T;

export interface FlagDef {
  kind: 'flag';
  short?: string;
  help?: string;
}

export interface ValueDef<T> {
  kind: 'value';
  parse: ValueParser<T>;
  /** May be given more than once; values are collected in order. */
  repeatable?: boolean;
  /** Comma-separated lists are split (only meaningful with repeatable). */
  commaList?: boolean;
  short?: string;
  /** Placeholder in the help text (VALUE). */
  metavar?: string;
  help?: string;
}

export type OptionDef = FlagDef | ValueDef<unknown>;
export type OptionDefs = Record<string, OptionDef>;

type ValueType<D> = D extends ValueDef<infer T> ? T : never;

/** The parsed options: flags → boolean, repeatable → T[], single → T | undefined. */
export type ParsedOptions<D extends OptionDefs> = {
  [K in keyof D]: D[K] extends FlagDef ? boolean : D[K] extends { repeatable: true } ? ValueType<D[K]>[] : ValueType<D[K]> | undefined;
};

export interface Parsed<D extends OptionDefs> {
  options: ParsedOptions<D>;
  positionals: string[];
}

export function flag(help?: string, short?: string): FlagDef {
  return { kind: 'flag', help, short };
}

export function single<T>(parse: ValueParser<T>, metavar = 'VALUE', help?: string): ValueDef<T> & { repeatable?: false } {
  return { kind: 'value', parse, metavar, help };
}

export function repeated<T>(parse: ValueParser<T>, metavar = 'VALUE', help?: string, commaList = true): ValueDef<T> & { repeatable: true } {
  return { kind: 'value', parse, metavar, help, repeatable: true, commaList };
}

export function parseArgs<D extends OptionDefs>(argv: readonly string[], defs: D): Parsed<D> {
  const options: Record<string, unknown> = {};
  const byShort = new Map<string, string>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.kind === 'flag') options[name] = false;
    else if (def.repeatable) options[name] = [];
    else options[name] = undefined;
    if (def.short) byShort.set(def.short, name);
  }
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      if (!Object.prototype.hasOwnProperty.call(defs, name)) throw new UsageError(`unknown option --${name}`);
    } else if (arg.startsWith('-') && arg.length > 1 && !/^-[\d:]/.test(arg)) {
      // (-5 is a negative number and -:3:4 a position in stdin, not options.)
      const short = arg.slice(1);
      const long = byShort.get(short);
      if (long === undefined) throw new UsageError(`unknown option ${arg}`);
      name = long;
    } else {
      positionals.push(arg);
      continue;
    }
    const def = defs[name];
    const shown = `--${name}`;
    if (def.kind === 'flag') {
      if (inline !== undefined) throw new UsageError(`option ${shown} takes no value`);
      options[name] = true;
      continue;
    }
    let raw: string;
    if (inline !== undefined) raw = inline;
    else if (i + 1 < argv.length) raw = argv[++i];
    else throw new UsageError(`option ${shown} needs a value`);
    if (def.repeatable) {
      const parts = def.commaList ? raw.split(',').map((s) => s.trim()) : [raw];
      if (parts.some((p) => p === '')) throw new UsageError(`option ${shown}: empty item in "${raw}"`);
      (options[name] as unknown[]).push(...parts.map((p) => def.parse(p, shown)));
    } else {
      if (options[name] !== undefined) throw new UsageError(`option ${shown} given more than once`);
      options[name] = def.parse(raw, shown);
    }
  }
  return { options: options as ParsedOptions<D>, positionals };
}

// ---------- value parsers ----------

export const str: ValueParser<string> = (raw) => raw;

export function choice<T extends string>(values: readonly T[]): ValueParser<T> {
  return (raw, flagName) => {
    if ((values as readonly string[]).includes(raw)) return raw as T;
    throw new UsageError(`option ${flagName} must be one of ${values.join(', ')} (got "${raw}")`);
  };
}

/** Plain decimal notation only (Number('') is 0 and Number('0x10') is 16); NaN otherwise. */
function toNumber(raw: string): number {
  const t = raw.trim();
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : NaN;
}

export interface NumberRange {
  min?: number;
  max?: number;
  /** min is exclusive (value > min). */
  minExclusive?: boolean;
  integer?: boolean;
  /** How the range reads in an error, e.g. "a number in (0, 1]". */
  describe: string;
}

export function numberIn(range: NumberRange): ValueParser<number> {
  return (raw, flagName) => {
    const v = toNumber(raw);
    const ok =
      Number.isFinite(v) &&
      (!range.integer || Number.isSafeInteger(v)) &&
      (range.min === undefined || (range.minExclusive ? v > range.min : v >= range.min)) &&
      (range.max === undefined || v <= range.max);
    if (!ok) throw new UsageError(`option ${flagName} must be ${range.describe} (got "${raw}")`);
    return v;
  };
}

export const temperature = numberIn({ min: 0, describe: 'a number ≥ 0' });
export const topP = numberIn({ min: 0, minExclusive: true, max: 1, describe: 'a number in (0, 1]' });
export const topK = numberIn({ min: 0, integer: true, describe: 'an integer ≥ 0' });
export const maxTokens = numberIn({ min: 1, max: 4096, integer: true, describe: 'an integer from 1 to 4096' });
export const threads = numberIn({ min: 0, max: 64, integer: true, describe: 'an integer from 0 to 64' });
export const seed = numberIn({ min: 0, max: Number.MAX_SAFE_INTEGER, integer: true, describe: 'an integer from 0 to 2^53−1' });
export const positiveInt = numberIn({ min: 1, max: 1_000_000, integer: true, describe: 'an integer ≥ 1' });

const gammaNumber = numberIn({ min: 0, max: 32, integer: true, describe: 'an integer from 0 to 32 or "auto"' });
export const gamma: ValueParser<number | 'auto'> = (raw, flagName) => (raw === 'auto' ? 'auto' : gammaNumber(raw, flagName));

// ---------- help ----------

/** Help lines for a set of option definitions, aligned. */
export function describeOptions(defs: OptionDefs): string {
  const rows = Object.entries(defs)
    .filter(([, d]) => d.help !== undefined)
    .map(([name, d]) => {
      const head = `${d.short ? `-${d.short}, ` : ''}--${name}${d.kind === 'value' ? ` ${d.metavar ?? 'VALUE'}` : ''}`;
      return [head, d.help ?? ''] as const;
    });
  const width = Math.max(0, ...rows.map(([h]) => h.length));
  return rows.map(([h, text]) => `  ${h.padEnd(width)}  ${text}`).join('\n');
}
