/**
 * `npm run standin -- [options]`: writes a Qwen2.5-Coder-shaped stand-in (random weights, Qwen's tokenizer, the
 * onnx-community file layout) for tests and benchmarks on machines that cannot download the real models.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { SIZES, SizeName, shapeOf } from './config';
import { VARIANTS, Variant } from './graph';
import { StandinOptions, generateStandin, plannedLayout } from './generate';

const HELP = `npm run standin -- [options]      (node out/tools/standin/main.js after npx tsc -p .)

Writes <out>/target and <out>/drafter, Hugging Face model folders in onnx-community's Qwen2.5-Coder layout with
random weights, and <out>/standin.json (options, sizes, sha256). Same options, same bytes; unchanged files are kept.

  --size 0.5b|1.5b|3b|ci    0.5b: Qwen2.5-Coder-0.5B's config (24 layers, hidden 896; ~2.5 GB fp32); 1.5b, 3b: those
                            models' configs (6–12 GB fp32); ci: 2 layers, hidden 64, same vocabulary and layout
                            (tens of MB). Default ci.
  --variants LIST           comma-separated from ${VARIANTS.join(',')} (default all)
  --out DIR                 default $LOCKSTEP_STANDIN_CACHE/<size>, else ~/.cache/lockstep/standin/<size>
  --seed N                  weights' seed (default 0)
  --accuracy-level N        MatMulNBits accuracy_level of q4/q4f16 (0–4; default: not written, as transformers.js)
  --drafter-layers N        the early-exit drafter's layers (default 2, 1 for ci; 0 = no drafter)
  --dry-run                 print each variant's files and bytes for the target, write nothing
`;

export interface CliOptions extends StandinOptions {
  dryRun: boolean;
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions | 'help' {
  const o: Partial<CliOptions> & { size: SizeName } = { size: 'ci', seed: 0, variants: [...VARIANTS], dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return 'help';
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (v: string, lo: number, hi: number): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${a} must be an integer from ${lo} to ${hi} (got ${v})`);
      return n;
    };
    if (a === '--size') {
      const v = value();
      if (!SIZES.includes(v as SizeName)) throw new Error(`--size must be one of ${SIZES.join(', ')} (got ${v})`);
      o.size = v as SizeName;
    } else if (a === '--variants') {
      const list = value().split(',').map((s) => s.trim()).filter(Boolean);
      const bad = list.filter((v) => !VARIANTS.includes(v as Variant));
      if (bad.length > 0 || list.length === 0) throw new Error(`--variants: unknown ${bad.join(', ') || '(empty)'}; choose from ${VARIANTS.join(', ')}`);
      o.variants = VARIANTS.filter((v) => list.includes(v));
    } else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--seed') o.seed = int(value(), 0, Number.MAX_SAFE_INTEGER);
    else if (a === '--accuracy-level') o.accuracyLevel = int(value(), 0, 4);
    else if (a === '--drafter-layers') o.drafterLayers = int(value(), 0, 1000);
    else if (a === '--dry-run') o.dryRun = true;
    else throw new Error(`unknown option ${a} (see --help)`);
  }
  const root = env.LOCKSTEP_STANDIN_CACHE ? path.resolve(env.LOCKSTEP_STANDIN_CACHE) : path.join(os.homedir(), '.cache', 'lockstep', 'standin');
  return { ...o, out: o.out ?? path.join(root, o.size), seed: o.seed ?? 0, variants: o.variants ?? [...VARIANTS], dryRun: o.dryRun ?? false };
}

function main(): void {
  let opts: CliOptions | 'help';
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`standin: ${(e as Error).message}\n`);
    process.exit(2);
  }
  if (opts === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (opts.dryRun) {
    for (const v of opts.variants) {
      const p = plannedLayout(shapeOf(opts.size), v);
      process.stdout.write(`${v.padEnd(6)} ${(p.bytes / 1e9).toFixed(3)} GB  ${p.files.join(' + ')}\n`);
    }
    return;
  }
  const started = Date.now();
  const r = generateStandin(opts, (line) => process.stderr.write(`standin: ${line}\n`));
  process.stderr.write(`standin: ${r.written.length} files written, ${r.skipped.length} unchanged, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`${r.target}\n${r.drafter ? `${r.drafter}\n` : ''}`);
}

if (require.main === module) main();
