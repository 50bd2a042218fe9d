/**
 * Options of bench/peer-q4.ts, parsed apart from the run so that a test can check them without models. The defaults
 * measure the shipped target exactly as before (fused q4 copy, fp32 pair timed, drafter B); `--target DIR` points the
 * same run at another fp32 Llama/Qwen2 folder (the 0.5B stand-in), where timing the fp32 pair costs minutes (`--no-fp32`
 * then keeps only a short F32 validation, `--validate-prompts`).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as A from '../src/cli/args';
import { UsageError } from '../src/cli/args';

/** Lockstep's 4-bit arms: `fused`, the fused copy `export-fused --q4` makes from the fp32 file; `file`, the folder's own
 * onnx/model_q4.onnx as the engine loads it (through the accuracy_level-4 copy, engine/fastQ4.ts). */
export type Q4Source = 'fused' | 'file';

export const peerQ4Defs = {
  help: A.flag('show this help', 'h'),
  target: A.single(A.str, 'DIR', 'fp32 model folder (onnx/model.onnx) converted for both systems (default models/lockstep-target)'),
  drafter: A.single(A.str, 'MODEL', 'Lockstep\'s drafter, with prompt lookup: catalog id or folder (default lockstep-drafter-b)'),
  'drafter-variant': A.single(A.str, 'NAME', 'the drafter\'s ONNX variant for the 4-bit engines (default: its default, fp32 fused)'),
  q4: A.repeated(A.choice(['fused', 'file'] as const), 'SRC', 'Lockstep 4-bit arms: fused (export-fused --q4 copy), file (the folder\'s model_q4.onnx); default fused'),
  'no-fp32': A.flag('do not time the fp32 pair (Lockstep fused fp32, llama.cpp F32)'),
  'validate-prompts': A.single(A.numberIn({ min: 0, max: 64, integer: true, describe: 'an integer from 0 to 64' }), 'N', 'prompts whose greedy ids Lockstep fp32 and llama.cpp F32 must give alike, reported (default 0)'),
  'validate-only': A.flag('run the F32 validation only, no timing'),
  'validate-tokens': A.single(A.maxTokens, 'N', 'tokens per validation prompt (default 8)'),
  threads: A.repeated(A.threads, 'N', 'thread counts, each a full interleaved round (default 1)'),
  prompts: A.single(A.positiveInt, 'N', 'held-out prompts timed (default 8)'),
  'max-tokens': A.single(A.maxTokens, 'N', 'tokens per completion (default 64)'),
  'max-prompt-tokens': A.single(A.positiveInt, 'N', 'prompt budget in tokens (default: what the context leaves)'),
  work: A.single(A.str, 'DIR', 'where converted files go and are reused from (default: a temporary folder, removed)'),
  out: A.single(A.str, 'DIR', 'where the JSON goes (default .bench-results)'),
  name: A.single(A.str, 'NAME', 'the JSON file\'s name, without .json (default peer-q4)'),
};

export interface PeerQ4Options {
  target: string;
  /** The default target gets the FIM template of the shipped models; another folder has its own detected. */
  fim?: string;
  drafter: string;
  drafterVariant?: string;
  q4: Q4Source[];
  fp32: boolean;
  validatePrompts: number;
  validateTokens: number;
  validateOnly: boolean;
  threads: number[];
  prompts: number;
  maxTokens: number;
  maxPromptTokens?: number;
  work?: string;
  out: string;
  name: string;
}

export const PEER_Q4_HELP = 'node out/bench/peer-q4.js [options] — Lockstep at 4 bits against llama.cpp Q4_0 on the same weights\n\n' +
  `Options:\n${A.describeOptions(peerQ4Defs)}`;

/** Parses argv (without node and the script); `root` is the repository, `cwd` resolves relative folders. null: --help. */
export function parsePeerQ4(argv: readonly string[], root: string, cwd: string): PeerQ4Options | null {
  const { options: o, positionals } = A.parseArgs(argv, peerQ4Defs);
  if (o.help) return null;
  if (positionals.length > 0) throw new UsageError(`peer-q4 takes no arguments (got '${positionals[0]}')`);
  const target = o.target === undefined ? path.join(root, 'models', 'lockstep-target') : path.resolve(cwd, o.target);
  // A drafter given as a path is resolved here: the engine resolves names against the catalog, paths against cwd.
  const drafter = o.drafter === undefined ? 'lockstep-drafter-b' : o.drafter.includes('/') ? path.resolve(cwd, o.drafter) : o.drafter;
  const q4 = o.q4.length > 0 ? [...new Set(o.q4)] : ['fused' as const];
  const threads = o.threads.length > 0 ? [...new Set(o.threads.map((t) => (t === 0 ? os.cpus().length : t)))] : [1];
  return {
    target, ...(o.target === undefined ? { fim: 'lockstep' } : {}), drafter,
    ...(o['drafter-variant'] === undefined ? {} : { drafterVariant: o['drafter-variant'] }),
    q4, fp32: !o['no-fp32'], validatePrompts: o['validate-prompts'] ?? 0, validateTokens: o['validate-tokens'] ?? 8, validateOnly: o['validate-only'],
    threads, prompts: o.prompts ?? 8, maxTokens: o['max-tokens'] ?? 64,
    ...(o['max-prompt-tokens'] === undefined ? {} : { maxPromptTokens: o['max-prompt-tokens'] }),
    ...(o.work === undefined ? {} : { work: path.resolve(cwd, o.work) }),
    out: path.resolve(cwd, o.out ?? '.bench-results'), name: o.name ?? 'peer-q4',
  };
}
