/**
 * `lockstep bench realsize --model-dir DIR` — what the engine costs at a real model's size, on the Qwen2.5-Coder
 * stand-in (tools/standin; random weights, so acceptance is reported, never tuned to):
 *  - per variant, in a process of its own (bench/realsize/realsizeChild.ts): file size, load time, RSS, the target's call,
 *    a prefill with and without fetching logits, the stand-in drafter's call, decode tokens/s with no drafter,
 *    prompt lookup and the stand-in drafter;
 *  - the coupled samplers at V = 151 936 (µs and heap bytes per sample, bench/speed/overhead.ts's allocationCheck) on a flat
 *    row (what random weights give) and a peaked one (what a trained model gives);
 *  - a keystroke's tokenization: the FIM prompt of an 8 KB window after a one-character edit, whole encodings against
 *    the chunk cache (src/engine/prompt/encodeCache.ts).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as A from '../../src/cli/args';
import { UsageError } from '../../src/cli/args';
import type { CliIo } from '../../src/cli/io';
import { mulberry32 } from '../../src/cli/prompts';
import { buildFimPrompt, detectFimTemplate } from '../../src/engine/prompt/fim';
import { TokenizerWrapper } from '../../src/engine/prompt/tokenizer';
import { ReportHead, headLines, heldoutPrompts, median, reportHead, table, writeJson } from '../common';
import { AllocRow, allocationCheck } from '../speed/overhead';
import type { VariantJob, VariantRow } from './realsizeChild';

export const REALSIZE_DEFAULTS = { variants: ['fp32', 'fp16', 'q4', 'q4f16', 'int8'], past: 256, repeats: 12, prompts: 4, maxTokens: 32, keystrokes: 40 };
const QUICK = { variants: ['fp32', 'q4'], past: 32, repeats: 3, prompts: 1, maxTokens: 8, keystrokes: 5 };

export const realsizeDefs = {
  help: A.flag('show this help', 'h'),
  json: A.flag('print the report as JSON'),
  quick: A.flag('a small, fast run (ci-size stand-ins; default --out .bench-results/quick)'),
  out: A.single(A.str, 'DIR', 'where the JSON goes (default .bench-results, or .bench-results/quick with --quick)'),
  quiet: A.flag('no progress lines on stderr'),
  'model-dir': A.single(A.str, 'DIR', 'a stand-in folder (npm run standin) holding target/ and drafter/ (required)'),
  'extra-dir': A.repeated(A.str, 'LABEL=DIR:VARIANT', 'another stand-in\'s variant as one more row, e.g. q4-al4=/tmp/al4:q4 (repeatable)'),
  variants: A.repeated(A.str, 'LIST', `target variants (default ${REALSIZE_DEFAULTS.variants.join(',')})`),
  'no-fast-q4': A.flag('load q4 files as they are (default: the engine\'s accuracy_level-4 copy when they lack it)'),
  'skip-decode': A.flag('only load, RSS, call and prefill times (no drafter call, no tokens/s)'),
  'drafter-variant': A.single(A.str, 'NAME', 'the stand-in drafter\'s variant (default: the target row\'s)'),
  threads: A.single(A.threads, 'N', 'intra-op threads per model (default 1)'),
  past: A.single(A.positiveInt, 'N', `past length of the timed calls and the prefill's length (default ${REALSIZE_DEFAULTS.past})`),
  repeats: A.single(A.positiveInt, 'N', `timed calls per measurement (default ${REALSIZE_DEFAULTS.repeats})`),
  prompts: A.single(A.positiveInt, 'N', `held-out FIM prompts per drafter for tokens/s (default ${REALSIZE_DEFAULTS.prompts})`),
  'max-tokens': A.single(A.maxTokens, 'N', `tokens per completion (default ${REALSIZE_DEFAULTS.maxTokens})`),
};

export interface TokenizeRow {
  tokenizer: string;
  windowChars: number;
  promptTokens: number;
  wholeMs: number;
  cachedMs: number;
  chunksReencodedPerKeystroke: number;
}

export interface RealsizeReport extends ReportHead {
  modelDir: string;
  standin: unknown;
  variants: VariantRow[];
  sampling: { row: 'flat' | 'peaked'; vocab: number; loops: AllocRow[] }[];
  tokenize: TokenizeRow[];
}

function ms(x: number): number {
  return Math.round(x * 100) / 100;
}

/** One keystroke's FIM prompt: a character typed in the middle of an 8 KB window, with and without the chunk cache. */
export function tokenizeCost(dir: string, label: string, keystrokes: number): TokenizeRow {
  const tok = TokenizerWrapper.fromDir(dir);
  const fim = detectFimTemplate(tok);
  const whole = Object.create(tok) as TokenizerWrapper;
  whole.encodePlain = (s: string) => tok.encodeWhole(s);
  let text = heldoutPrompts(8).map((p) => p.before + p.after).join('\n').slice(0, 8192);
  while (text.length < 8192) text += text;
  text = text.slice(0, 8192);
  const rnd = mulberry32(3);
  const t = { whole: [] as number[], cached: [] as number[] };
  let promptTokens = 0;
  let cursor = 6000;
  buildFimPrompt(tok, fim, text.slice(0, cursor), text.slice(cursor), 4096); // fills the cache (the first keystroke)
  const m0 = tok.chunkStats()?.misses ?? 0;
  for (let k = 0; k < keystrokes; k++) {
    text = text.slice(0, cursor) + String.fromCharCode(97 + Math.floor(rnd() * 26)) + text.slice(cursor);
    cursor++;
    const before = text.slice(0, cursor);
    const after = text.slice(cursor);
    // Interleaved: both arms see the same load.
    let t0 = performance.now();
    const a = buildFimPrompt(whole, fim, before, after, 4096);
    t.whole.push(performance.now() - t0);
    t0 = performance.now();
    const b = buildFimPrompt(tok, fim, before, after, 4096);
    t.cached.push(performance.now() - t0);
    if (a.ids.length !== b.ids.length || a.ids.some((id, i) => id !== b.ids[i])) throw new Error(`${label}: cached prompt differs`);
    promptTokens = a.ids.length;
  }
  const misses = (tok.chunkStats()?.misses ?? 0) - m0;
  return {
    tokenizer: label, windowChars: 8192, promptTokens, wholeMs: ms(median(t.whole)), cachedMs: ms(median(t.cached)),
    chunksReencodedPerKeystroke: Math.round((misses / keystrokes) * 10) / 10,
  };
}

/** A logits row at V = 151 936: flat N(0, 1) (random weights), or peaked (a few tokens 8–12 nats above the rest). */
export function syntheticRow(kind: 'flat' | 'peaked', vocab = 151936): Float32Array {
  const rnd = mulberry32(kind === 'flat' ? 5 : 6);
  const row = new Float32Array(vocab);
  for (let i = 0; i < vocab; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd()); // Box–Muller
    row[i] = kind === 'flat' ? g : 1.5 * g;
  }
  if (kind === 'peaked') for (let j = 0; j < 20; j++) row[Math.floor(rnd() * vocab)] = 8 + 4 * rnd();
  return row;
}

function runChild(job: VariantJob): VariantRow {
  const script = path.join(__dirname, 'realsizeChild.js');
  // A first start in a process of its own makes any missing fused copy; the measured start is the second one.
  const prep = spawnSync(process.execPath, [script, JSON.stringify({ ...job, prepareOnly: true })], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (prep.status !== 0) throw new Error(`variant ${job.label} failed to load: ${(prep.stderr || prep.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`);
  const r = spawnSync(process.execPath, [script, JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`variant ${job.label} failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as VariantRow;
}

export async function realsizeCommand(argv: string[], io: CliIo, help: (defs: A.OptionDefs) => string): Promise<number> {
  const { options: o, positionals } = A.parseArgs(argv, realsizeDefs);
  if (o.help) {
    io.stdout(`lockstep bench realsize --model-dir DIR [options] — costs at a real model's size on the stand-in\n\nOptions:\n${help(realsizeDefs)}`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`bench realsize takes no arguments (got '${positionals[0]}')`);
  const dir = o['model-dir'];
  if (!dir) throw new UsageError('bench realsize needs --model-dir (a stand-in folder: npm run standin -- --size ci|0.5b)');
  const root = path.resolve(io.cwd, dir);
  const target = path.join(root, 'target');
  if (!fs.existsSync(target)) throw new UsageError(`${root} has no target/ folder: generate it with npm run standin -- --out ${root}`);
  const drafter = fs.existsSync(path.join(root, 'drafter')) ? path.join(root, 'drafter') : undefined;
  const d = o.quick ? QUICK : REALSIZE_DEFAULTS;
  const t0 = performance.now();
  const say = (s: string) => !o.quiet && io.stderr(`[realsize] ${s}\n`);
  const base = {
    target, drafter, threads: o.threads ?? 1, past: o.past ?? d.past, repeats: o.repeats ?? d.repeats,
    prompts: o.prompts ?? d.prompts, maxTokens: o['max-tokens'] ?? d.maxTokens, skipDecode: o['skip-decode'] === true,
    fastQ4: o['no-fast-q4'] !== true,
  };
  const jobs: VariantJob[] = (o.variants?.length ? o.variants : d.variants).map((variant) => ({
    ...base, label: variant, variant, drafterVariant: o['drafter-variant'] ?? variant,
  }));
  for (const spec of o['extra-dir'] ?? []) {
    const m = /^([^=]+)=(.+):([^:]+)$/.exec(spec);
    if (!m) throw new UsageError(`--extra-dir takes LABEL=DIR:VARIANT (got '${spec}')`);
    const extra = path.resolve(io.cwd, m[2]);
    const extraDrafter = fs.existsSync(path.join(extra, 'drafter')) ? path.join(extra, 'drafter') : undefined;
    jobs.push({ ...base, label: m[1], target: path.join(extra, 'target'), drafter: extraDrafter, variant: m[3], drafterVariant: o['drafter-variant'] ?? m[3] });
  }
  const variants: VariantRow[] = [];
  for (const job of jobs) {
    say(`variant ${job.label}`);
    const row = runChild(job);
    if (row.loadNote) say(row.loadNote);
    variants.push(row);
  }
  say('samplers at V = 151 936');
  const sampling = (['flat', 'peaked'] as const).map((row) => ({
    row, vocab: 151936, loops: o.quick ? allocationCheck(syntheticRow(row), 151936, 2, 2, 2) : allocationCheck(syntheticRow(row), 151936, 40, 40, 8),
  }));
  say('tokenization');
  const keystrokes = o.quick ? QUICK.keystrokes : REALSIZE_DEFAULTS.keystrokes;
  const tokenize = [tokenizeCost(target, 'Qwen (stand-in)', keystrokes)];
  const manifest = path.join(root, 'standin.json');
  const standin = fs.existsSync(manifest) ? (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { options?: unknown }).options : null;
  const report: RealsizeReport = {
    ...reportHead('realsize', ['bench', 'realsize', ...argv], base.threads, {}, t0), modelDir: root, standin, variants, sampling, tokenize,
  };
  const out = o.out ?? (o.quick ? path.join('.bench-results', 'quick') : '.bench-results');
  const file = writeJson(path.resolve(io.cwd, out), 'realsize', report);
  io.stdout(o.json ? `${JSON.stringify(report)}\n` : `${formatRealsize(report)}\nwritten: ${file}\n`);
  return 0;
}

export function formatRealsize(r: RealsizeReport): string {
  const f = (x: number | null, digits = 1) => (x === null ? '—' : x.toFixed(digits));
  const drafters = r.variants.find((v) => v.decode.length > 0)?.decode.map((x) => x.drafter) ?? [];
  const lines = [headLines(r).trimEnd(), `stand-in ${r.modelDir} ${JSON.stringify(r.standin)}`, ''];
  lines.push(table(
    ['variant', 'file MiB', 'loaded MiB', 'load s', 'RSS MiB', 'RSS ÷ loaded', 'peak MiB', 'target call ms', 'prefill ms (logits / none)', 'drafter call ms', 'c',
      ...drafters.map((x) => `tok/s ${x}`), 'acceptance'],
    r.variants.map((v) => [
      v.label, f(v.fileMiB, 0), f(v.loadedFileMiB, 0), f(v.loadSeconds, 2), f(v.rssAfterLoadMiB, 0), f(v.rssOverLoadedFile, 2), f(v.peakRssMiB, 0), f(v.targetCallMs),
      `${f(v.prefillWithLogitsMs, 0)} / ${f(v.prefillNoLogitsMs, 0)}`, f(v.drafterCallMs),
      v.drafterCallMs === null ? '—' : (v.drafterCallMs / v.targetCallMs).toFixed(2),
      ...drafters.map((name) => v.decode.find((x) => x.drafter === name)?.tokensPerSecond.toFixed(1) ?? '—'),
      v.decode.filter((x) => x.drafter !== 'none').map((x) => `${x.drafter} ${(100 * x.acceptance).toFixed(0)}%`).join(', '),
    ]),
  ));
  lines.push('', 'coupled sampling at V = 151 936 (one position; µs per sample and heap bytes per sample):');
  const loops = r.sampling[0]?.loops.map((l) => l.loop) ?? [];
  lines.push(table(
    ['loop', ...r.sampling.map((s) => `${s.row} µs`), ...r.sampling.map((s) => `${s.row} bytes`)],
    loops.map((loop, i) => [loop, ...r.sampling.map((s) => s.loops[i].microsecondsPerCall.toFixed(1)),
      ...r.sampling.map((s) => (s.loops[i].bytesPerCall === null ? 'GC' : s.loops[i].bytesPerCall!.toFixed(1)))]),
  ));
  lines.push('', 'one keystroke\'s FIM prompt (8 KB window, a character typed at 6 000):');
  lines.push(table(
    ['tokenizer', 'prompt tokens', 'whole encodings ms', 'chunk cache ms', 'chunks re-encoded'],
    r.tokenize.map((t) => [t.tokenizer, String(t.promptTokens), t.wholeMs.toFixed(2), t.cachedMs.toFixed(2), String(t.chunksReencodedPerKeystroke)]),
  ));
  return lines.join('\n');
}
