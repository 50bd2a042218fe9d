/**
 * Exactness is probed, not assumed. Verification scores several positions per call, so the target's logits for a
 * position must be bitwise the same however tokens were grouped into calls. Whether they are depends on the model
 * file (fp32 and MatMulNBits q4 were; fp16/q4f16 on the CPU provider were not; dynamic int8 never is: one activation
 * scale per call makes a row depend on the other rows of its call), the device, the threads and onnxruntime.
 *
 * The probe feeds one fixed token sequence as a single prefill (the reference) and under several groupings, for each
 * candidate call rule in turn (cheapest first), and compares every logits row bitwise. The first rule under which
 * every row of every grouping equals the reference is used; when none does, drafting is turned off for the target.
 */
import type { CallShape, Device } from './device';
import type { CausalLM } from './model';

/** Bumped whenever the probe's sequence, groupings or rules change (old cached verdicts then no longer apply). */
export const PROBE_VERSION = 2;
/** Tokens in the probe sequence: short, since one call of a 0.5B model on 2 cores costs ~0.15–0.9 s. */
export const PROBE_TOKENS = 24;

export interface CandidateRule extends CallShape {
  id: string;
  label: string;
}

/** Candidate call rules, cheapest first. */
export const CANDIDATE_RULES: readonly CandidateRule[] = [
  { id: 'min2', label: 'calls of ≥ 2 tokens', minTokensPerCall: 2, tokenMultiple: 1, align: 1 },
  { id: 'aligned4', label: 'aligned calls of a multiple of 4 tokens', minTokensPerCall: 4, tokenMultiple: 4, align: 4 },
  { id: 'aligned8', label: 'aligned calls of a multiple of 8 tokens', minTokensPerCall: 8, tokenMultiple: 8, align: 8 },
];

/**
 * Groupings, each a pattern of call sizes repeated until the sequence is fed; a negative step rolls the cache back by
 * that many tokens (rejected drafts), which are fed again by the next call. Single-token calls (plain decoding) come
 * after a prefill ([16, 1×8]) and among others; ~42 calls in all, since a call of a 0.5B model costs up to a second.
 */
export const PROBE_GROUPINGS: readonly (readonly number[])[] = [
  [16, 1, 1, 1, 1, 1, 1, 1, 1], [1, 4, 2, 7], [5, 1, 1, 9], [4, -2, 5, -3, 3], [3],
];

export interface GroupingResult {
  /** The pattern, e.g. "1,4,2,7". */
  grouping: string;
  /** Positions whose every computed row equalled the reference bitwise. */
  equal: number;
  rows: number;
}

export interface RuleResult {
  rule: string;
  exact: boolean;
  groupings: GroupingResult[];
}

/** The probe's verdict for one (model file, variant, device, threads, onnxruntime) — what EngineInfo carries. */
export interface ExactnessVerdict {
  exact: boolean;
  /** The rule chosen (its id and words); undefined when no candidate was exact. */
  rule?: string;
  ruleLabel?: string;
  /** Rows equal over the groupings run under the chosen rule, or the best rule tried when none was exact. */
  rowsEqual: number;
  rows: number;
  results: RuleResult[];
  variant: string;
  device: Device;
  threads: number;
  ortVersion: string;
  probeVersion: number;
  /** Seconds the probe took when it ran (0 when read from the cache). */
  seconds: number;
  /** True when this verdict came from the cache (no probe run). */
  cached: boolean;
}

let probes = 0;

/** How many probes this process has run (tests check that a cached verdict runs none). */
export function probesRun(): number {
  return probes;
}

/** A fixed, spread-out token sequence inside the vocabulary (deterministic: same bytes on every machine). */
export function probeTokens(vocab: number, n = PROBE_TOKENS): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((i * 7919 + 13) % Math.max(1, vocab));
  return out;
}

/** The calls of a grouping over n tokens: positive = feed that many, negative = roll back that many. */
export function groupingSteps(pattern: readonly number[], n: number): number[] {
  const steps: number[] = [];
  let pos = 0;
  for (let k = 0; pos < n; k++) {
    const s = pattern[k % pattern.length];
    if (s > 0) {
      const take = Math.min(s, n - pos);
      steps.push(take);
      pos += take;
    } else if (s < 0 && pos > 0) {
      const back = Math.min(-s, pos);
      steps.push(-back);
      pos -= back;
    }
  }
  return steps;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

async function probeRule(model: CausalLM, rule: CandidateRule, tokens: readonly number[], full: boolean): Promise<RuleResult> {
  model.setCallRule(rule);
  const ref = await model.forward(tokens);
  const width = ref.width;
  const refRows = new Float32Array(tokens.length * width);
  for (let i = 0; i < tokens.length; i++) refRows.set(ref.row(i), i * width);
  const groupings: GroupingResult[] = [];
  for (const pattern of PROBE_GROUPINGS) {
    model.reset();
    const ok = new Array<boolean>(tokens.length).fill(true);
    let pos = 0;
    for (const step of groupingSteps(pattern, tokens.length)) {
      if (step < 0) {
        pos += step;
        await model.truncate(pos);
        continue;
      }
      const rows = await model.forward(tokens.slice(pos, pos + step));
      for (let i = 0; i < step; i++) {
        if (!sameBits(rows.row(i), refRows.subarray((pos + i) * width, (pos + i + 1) * width))) ok[pos + i] = false;
      }
      pos += step;
    }
    groupings.push({ grouping: pattern.join(','), equal: ok.filter((x) => x).length, rows: tokens.length });
    // One grouping off is enough to rule a rule out: the rest would only cost time.
    if (!full && ok.includes(false)) break;
  }
  model.reset();
  return { rule: rule.id, exact: groupings.every((g) => g.equal === g.rows), groupings };
}

export interface ProbeContext {
  variant: string;
  device: Device;
  threads: number;
  ortVersion: string;
}

/**
 * Runs the probe on a loaded target: each candidate rule in order until one is exact (a rule stops at its first
 * grouping with a differing row, unless `full`). Leaves the model on the chosen
 * rule, or on `fallback` (the device's own rule, for plain decoding) when none is exact, with an empty cache and its
 * call counters as they were.
 */
export async function probeExactness(
  model: CausalLM, ctx: ProbeContext, fallback: CallShape, candidates: readonly CandidateRule[] = CANDIDATE_RULES, full = false,
): Promise<ExactnessVerdict> {
  probes++;
  const t0 = performance.now();
  const calls = model.calls;
  const runSeconds = model.runSeconds;
  const tokens = probeTokens(model.config.vocabSize);
  const results: RuleResult[] = [];
  let chosen: CandidateRule | undefined;
  for (const rule of candidates) {
    const r = await probeRule(model, rule, tokens, full);
    results.push(r);
    if (r.exact) {
      chosen = rule;
      break;
    }
  }
  model.setCallRule(chosen ?? fallback);
  model.calls = calls;
  model.runSeconds = runSeconds;
  const total = (r: RuleResult): [number, number] => [
    r.groupings.reduce((s, g) => s + g.equal, 0), r.groupings.reduce((s, g) => s + g.rows, 0),
  ];
  const best = chosen ? results[results.length - 1] : results.reduce((a, b) => (total(b)[0] > total(a)[0] ? b : a));
  const [rowsEqual, rows] = total(best);
  return {
    exact: chosen !== undefined, rule: chosen?.id, ruleLabel: chosen?.label, rowsEqual, rows, results,
    ...ctx, probeVersion: PROBE_VERSION, seconds: (performance.now() - t0) / 1000, cached: false,
  };
}

/** The candidate rule with this id, if any. */
export function ruleById(id: string | undefined): CandidateRule | undefined {
  return CANDIDATE_RULES.find((r) => r.id === id);
}

/** One line: "q4 on cpu, 1 thread: exact with calls of ≥ 2 tokens (168/168 rows equal)" or "…: not exact: drafting off (…)". */
export function describeVerdict(v: ExactnessVerdict): string {
  const threads = v.threads === 0 ? 'default threads' : `${v.threads} thread${v.threads === 1 ? '' : 's'}`;
  const head = `${v.variant} on ${v.device}, ${threads}`;
  const rows = `${v.rowsEqual}/${v.rows} rows equal`;
  return v.exact ? `${head}: exact with ${v.ruleLabel} (${rows})` : `${head}: not exact: drafting off (${rows} under the best rule tried)`;
}

/** What the user is told once about an inexact target: why, and what to use instead. */
export function inexactMessage(v: ExactnessVerdict, target: string): string {
  const instead = v.device === 'cpu' ? 'q4 or fp32' : 'fp32 or q4, or another device';
  return `target ${target} (${describeVerdict(v)}): its logits depend on how tokens are grouped into calls, so speculative ` +
    `decoding could change the text; drafting is off and completions are plain decoding (reproducible for a fixed seed). ` +
    `The ${instead} variant is exact on ${v.device}.`;
}
