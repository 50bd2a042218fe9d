/**
 * `lockstep bench peer` — Lockstep against llama.cpp (node-llama-cpp) on the same weights. Lockstep runs each folder
 * as a user gets it by default (the folder's preferred variant on the CPU — q4 when it has one — through its automatic
 * fused copy); llama.cpp gets the same weights at the same precision class, converted by the project's own GGUF writer
 * (bench/peer/) from the fp32 file: F32 against an fp32 default, Q4_0 against a 4-bit one. Before anything is timed
 * the conversion is validated like against like: Lockstep's fp32 file and llama.cpp's F32 GGUF must give the same
 * greedy ids on held-out prompts (4-bit texts are reported, not required: the two quantize differently). Then both
 * systems decode the same FIM prompt ids, interleaved per prompt, at each thread count. Reported: decode tokens/s and prefill time per arm, same-run ratios (Lockstep ÷
 * llama.cpp: plain vs plain, best vs best), and invariance at T > 0 (text with a drafter or predictor = text without).
 * llama.cpp's predictors run at their defaults and at the best settings a small sweep found.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineSetup, ModelOptions, openEngine, setupStopIds } from '../../src/cli/engineOpen';
import type { CompletionRequest } from '../../src/engine/process/engine';
import { ReportHead, heldoutPrompts, median, reportHead } from '../common';
import { formatDrafterSpec } from '../../src/engine/decode/drafters/drafterSpec';
import { convertToGguf } from './convert';
import { LlamaPeer, PeerPredictor, PeerSequence, predictorLabel } from './llamaPeer';
import { ValidationRow, validateModel } from './validate';

export type PeerSystem = 'lockstep' | 'llama.cpp';

export interface PeerRow {
  system: PeerSystem;
  /** The weights this row ran: Lockstep's variant (fp32, q4 …) and the file onnxruntime loaded; llama.cpp's GGUF type and file. */
  variant: string;
  file: string;
  /** Lockstep's drafter, or llama.cpp's predictor with its settings. */
  arm: string;
  threads: number;
  runs: number;
  /** Median over prompts of decode tokens/s (prefill excluded). */
  tokensPerSecond: number;
  /** Median over prompts of this arm's tokens/s ÷ llama.cpp plain's, same prompt, same run. */
  vsLlamaPlain: number;
  /** Median over prompts of this arm's tokens/s ÷ its own system's plain decoding, same run. */
  vsOwnPlain: number;
  prefillMs: number;
  promptTokens: number;
  /** Runs at T = 0 whose text equals the same system's plain text. */
  sameAsPlain: number;
}

export interface Invariance {
  identical: number;
  cases: number;
}

export interface PeerReport extends ReportHead {
  target: string;
  /** The target's variant as Lockstep loads it by default, and the file onnxruntime runs. */
  variant: string;
  loadedFile: string;
  /** llama.cpp's weights for the timed rows: F32 or Q4_0. */
  llamaType: string;
  drafter: string;
  temperature: number;
  invarianceTemperature: number;
  prompts: number;
  maxTokens: number;
  threads: number[];
  validation: ValidationRow[];
  sweep: { predictor: string; tokensPerSecond: number }[];
  best: { draft: string; lookup: string };
  rows: PeerRow[];
  /** Lockstep ÷ llama.cpp tokens/s at the first thread count: plain vs plain, best arm vs best arm (median of same-prompt ratios). */
  ratios: { plain: number; best: number; bestLockstep: string; bestLlama: string; threads: number };
  ratiosByThreads: { threads: number; plain: number; best: number; bestLockstep: string; bestLlama: string }[];
  invariance: Record<PeerSystem, Invariance>;
  invarianceByArm: { system: PeerSystem; arm: string; identical: number; cases: number }[];
}

export interface PeerOptions extends ModelOptions {
  drafterA?: string;
  drafterB?: string;
  prompts?: number;
  maxTokens?: number;
  validatePrompts?: number;
  sweepPrompts?: number;
  invarianceCases?: number;
  threadList?: number[];
  quick?: boolean;
  ggufDir: string;
  argv?: string[];
  onProgress?: (done: number, total: number) => void;
}

/** Lockstep's plain decoding on the Optimum graph, a row of its own when the engine runs the fused copy. */
export const OPTIMUM_ARM = 'none (Optimum graph)';

export const PEER_DEFAULTS = { prompts: 8, maxTokens: 64, validatePrompts: 8, sweepPrompts: 3, invarianceCases: 24, invarianceTemperature: 0.7 };

const DRAFT_SWEEP: PeerPredictor[] = [0, 0.3].flatMap((c) => [2, 4, 8].map((m): PeerPredictor => ({ kind: 'draft', minConfidence: c, maxTokens: m })));
const LOOKUP_SWEEP: PeerPredictor[] = [1, 2].flatMap((p) => [3, 6, 10].map((m): PeerPredictor => ({ kind: 'lookup', patternMin: p, predictionMax: m })));

interface Arm {
  system: PeerSystem;
  label: string;
  /** Lockstep: the engine's drafter name; llama.cpp: the sequence with its predictor. */
  drafter?: string;
  seq?: PeerSequence;
  /** Lockstep on another engine (the Optimum graph, when the main one loads the fused copy). */
  setup?: EngineSetup;
}

interface Sample {
  tps: number;
  prefill: number;
  text: string;
  promptTokens: number;
}

function request(p: { before: string; after: string }, drafter: string, temperature: number, seed: number, maxTokens: number): CompletionRequest {
  return { before: p.before, after: p.after, drafter, coupling: 'gumbel', seed, sampling: { temperature, topK: 0, topP: 1 }, gamma: 'auto', maxTokens, mode: 'free' };
}


async function runArm(arm: Arm, setup: EngineSetup, p: { before: string; after: string }, temperature: number, seed: number, maxTokens: number, stopIds: Set<number>): Promise<Sample> {
  const req = request(p, arm.drafter ?? 'none', temperature, seed, maxTokens);
  const { engine } = arm.setup ?? setup;
  if (arm.system === 'lockstep') {
    engine.resetCaches();
    const r = await engine.complete(req);
    return { tps: r.tokensPerSecond, prefill: r.prefillSeconds, text: r.text, promptTokens: r.promptTokens };
  }
  const prompt = engine.promptFor(req);
  const r = await arm.seq!.generate(prompt, { maxTokens: engine.fitContext(req).maxTokens, temperature, seed, stopIds });
  return { tps: r.ids.length / r.decodeSeconds, prefill: r.prefillSeconds, text: engine.tokenizer.decode(r.ids), promptTokens: prompt.length };
}

export async function runPeer(o: PeerOptions, cwd: string): Promise<PeerReport> {
  const t0 = performance.now();
  const quick = o.quick === true;
  const drafterA = o.drafterA ?? 'lockstep-drafter-a';
  const drafterB = o.drafterB ?? 'lockstep-drafter-b';
  const nPrompts = o.prompts ?? (quick ? 2 : PEER_DEFAULTS.prompts);
  const maxTokens = o.maxTokens ?? (quick ? 12 : PEER_DEFAULTS.maxTokens);
  const nValidate = o.validatePrompts ?? (quick ? 2 : PEER_DEFAULTS.validatePrompts);
  const nSweep = o.sweepPrompts ?? (quick ? 1 : PEER_DEFAULTS.sweepPrompts);
  const nInv = o.invarianceCases ?? (quick ? 2 : PEER_DEFAULTS.invarianceCases);
  const threadList = o.threadList ?? (quick ? [1] : [...new Set([1, os.cpus().length])]);
  const invT = PEER_DEFAULTS.invarianceTemperature;
  const lookupB = formatDrafterSpec({ kind: 'lookup-then-model', model: drafterB });
  // `--drafter-a none`: one model drafter only (a stand-in folder has one).
  const drafterList = drafterA === 'none' ? [drafterB, lookupB] : [drafterA, drafterB, lookupB];

  let setup = await openEngine({ ...o, threads: threadList[0] }, drafterList, cwd);
  const dirOf = (name: string) => setup.drafters.find((d) => d.load?.name === name)?.load?.dir ?? '';
  const dirs: Record<string, string> = { target: setup.targetDir, [drafterB]: dirOf(drafterB), ...(drafterA === 'none' ? {} : { [drafterA]: dirOf(drafterA) }) };
  const loaded = setup.engine.info().models;
  const loadedOf = (name: string) => loaded.find((m) => m.name === name) ?? loaded[0];
  // Same precision class for both systems: a 4-bit default in Lockstep is timed against Q4_0, fp32 against F32.
  const typeOf = (name: string): 'q4_0' | 'f32' => (loadedOf(name).variant.startsWith('q4') ? 'q4_0' : 'f32');
  fs.mkdirSync(o.ggufDir, { recursive: true });
  const ggufOf = (dir: string, type: 'q4_0' | 'f32') =>
    convertToGguf(dir, path.join(o.ggufDir, `${path.basename(dir)}${type === 'f32' ? '' : `-${type}`}.gguf`), type).file;
  const gguf: Record<string, string> = {};
  const ggufF32: Record<string, string> = {};
  for (const [name, dir] of Object.entries(dirs)) {
    ggufF32[name] = ggufOf(dir, 'f32');
    gguf[name] = typeOf(name) === 'f32' ? ggufF32[name] : ggufOf(dir, typeOf(name));
  }
  const stopIds = setupStopIds(setup);
  const vocab = setup.engine.tokenizer.vocabSize;
  // llama.cpp allocates the whole context per sequence: the held-out prompts fit in 4 096 positions.
  const ctxSize = Math.min(setup.engine.target.config.maxPositions, 4096);
  const promptsOf = (n: number, seed: number) => heldoutPrompts(n, seed).map((p) => ({ before: p.before, after: p.after }));
  const validatePrompts = promptsOf(nValidate, 11);
  // Prompts whose greedy completion ends at once (end of text first) time nothing: keep those with ≥ 8 tokens.
  const need = Math.max(nPrompts, nSweep, nInv);
  const timed: { before: string; after: string }[] = [];
  for (const p of promptsOf(need * 4, 2)) {
    if (timed.length === need) break;
    setup.engine.resetCaches();
    if ((await setup.engine.complete(request(p, 'none', 0, 0, maxTokens))).tokens >= Math.min(8, maxTokens)) timed.push(p);
  }
  if (timed.length < need) throw new Error(`only ${timed.length} of the held-out prompts give ≥ 8 tokens; ${need} needed`);

  // 1. validation: greedy ids must agree for every converted model, or nothing is timed.
  const validation: ValidationRow[] = [];
  for (const [name, dir] of Object.entries(dirs)) {
    const peer = await LlamaPeer.load(ggufF32[name], 1, ctxSize);
    try {
      const ids = validatePrompts.map((p) => setup.engine.promptFor(request(p, 'none', 0, 0, maxTokens)));
      // Like against like: the GGUF is converted from the fp32 file, so the fp32 file is what is compared (a folder that
      // also holds model_q4.onnx would otherwise load its preferred q4 file here).
      validation.push(await validateModel(name, dir, peer, ids, maxTokens, stopIds, vocab, 'fp32'));
    } finally {
      await peer.dispose();
    }
  }
  const bad = validation.filter((v) => v.identical !== v.prompts);
  if (bad.length > 0) {
    await setup.engine.dispose();
    throw new Error(`refusing to time: the GGUF conversion disagrees with Lockstep's greedy ids: ${bad.map((v) => `${v.model} ${v.identical}/${v.prompts} prompts (first at ${JSON.stringify(v.firstMismatch)})`).join('; ')}`);
  }

  const total = nSweep * (DRAFT_SWEEP.length + LOOKUP_SWEEP.length) * (quick ? 0 : 1) + threadList.length * nPrompts * 12 + nInv * 11;
  let done = 0;
  const tick = () => o.onProgress?.(++done, total);
  const rows: PeerRow[] = [];
  const ratiosByThreads: PeerReport['ratiosByThreads'] = [];
  const sweep: PeerReport['sweep'] = [];
  let best = { draft: { kind: 'draft' } as PeerPredictor, lookup: { kind: 'lookup' } as PeerPredictor };
  let optimum: EngineSetup | undefined;
  const inv = new Map<string, { system: PeerSystem; arm: string; identical: number; cases: number }>();

  for (let ti = 0; ti < threadList.length; ti++) {
    const threads = threadList[ti];
    if (ti > 0) {
      await setup.engine.dispose();
      setup = await openEngine({ ...o, threads }, drafterList, cwd);
    }
    const target = await LlamaPeer.load(gguf.target, threads, ctxSize);
    const draft = await LlamaPeer.load(gguf[drafterB], threads, ctxSize);
    try {
      // 2. the sweep of llama.cpp's predictor settings (first thread count only; quick runs take one setting each).
      if (ti === 0) {
        const cands = quick ? [[DRAFT_SWEEP[0]], [LOOKUP_SWEEP[1]]] : [DRAFT_SWEEP, LOOKUP_SWEEP];
        const pick: PeerPredictor[] = [];
        for (const list of cands) {
          let top: { p: PeerPredictor; tps: number } | null = null;
          for (const pred of list) {
            const seq = await target.sequence(pred, draft);
            const tps: number[] = [];
            for (let i = 0; i < nSweep; i++) {
              tps.push((await runArm({ system: 'llama.cpp', label: '', seq }, setup, timed[i], 0, 0, maxTokens, stopIds)).tps);
              if (!quick) tick();
            }
            const m = median(tps);
            sweep.push({ predictor: predictorLabel(pred), tokensPerSecond: m });
            if (!top || m > top.tps) top = { p: pred, tps: m };
          }
          pick.push(top!.p);
        }
        best = { draft: pick[0], lookup: pick[1] };
      }
      const arms: Arm[] = [
        // `auto` last: the extension's default drafter (drafters/auto.ts), choosing among the others by measurement.
        ...['none', 'prompt-lookup', ...drafterList, 'auto'].map((d): Arm => ({ system: 'lockstep', label: d, drafter: d })),
      ];
      // The same target on the Optimum graph, plain, in the same run (the engine loads the fused copy by default).
      await optimum?.engine.dispose();
      optimum = o['no-fused'] === true ? undefined : await openEngine({ ...o, threads, 'no-fused': true }, [], cwd);
      if (optimum) arms.push({ system: 'lockstep', label: OPTIMUM_ARM, drafter: 'none', setup: optimum });
      for (const pred of [{ kind: 'none' }, { kind: 'draft' }, best.draft, { kind: 'lookup' }, best.lookup] as PeerPredictor[]) {
        arms.push({ system: 'llama.cpp', label: predictorLabel(pred), seq: await target.sequence(pred, draft) });
      }
      // 3. timing: per prompt every arm once, the order rotated per prompt (interleaved: same-run ratios).
      const samples = arms.map(() => [] as Sample[]);
      for (let i = 0; i < nPrompts; i++) {
        for (let k = 0; k < arms.length; k++) {
          const a = (k + i) % arms.length;
          samples[a].push(await runArm(arms[a], setup, timed[i], 0, 0, maxTokens, stopIds));
          tick();
        }
      }
      const llamaPlain = samples[arms.findIndex((a) => a.system === 'llama.cpp')];
      const own = (s: PeerSystem) => samples[arms.findIndex((a) => a.system === s)];
      const thisRows = arms.map((a, k): PeerRow => {
        const s = samples[k];
        const plain = own(a.system);
        const weights = a.system === 'llama.cpp' ? { variant: typeOf('target').toUpperCase(), file: gguf.target }
          : (() => {
            const m = (a.setup ?? setup).engine.info().models[0];
            return { variant: m.variant, file: m.loadedFile };
          })();
        return {
          system: a.system, arm: a.label, ...weights, threads, runs: s.length,
          tokensPerSecond: median(s.map((x) => x.tps)),
          vsLlamaPlain: median(s.map((x, i) => x.tps / llamaPlain[i].tps)),
          vsOwnPlain: median(s.map((x, i) => x.tps / plain[i].tps)),
          prefillMs: median(s.map((x) => x.prefill * 1000)),
          promptTokens: median(s.map((x) => x.promptTokens)),
          sameAsPlain: s.filter((x, i) => x.text === plain[i].text).length,
        };
      });
      rows.push(...thisRows);
      const bestOf = (sys: PeerSystem) => thisRows.reduce((b, r, k) => (r.system === sys && (b < 0 || r.tokensPerSecond > thisRows[b].tokensPerSecond) ? k : b), -1);
      const bl = bestOf('lockstep');
      const bc = bestOf('llama.cpp');
      ratiosByThreads.push({
        threads, plain: median(own('lockstep').map((x, i) => x.tps / llamaPlain[i].tps)),
        best: median(samples[bl].map((x, i) => x.tps / samples[bc][i].tps)), bestLockstep: arms[bl].label, bestLlama: arms[bc].label,
      });
      // 4. invariance at T > 0 (first thread count): each arm's text against its own system's plain text, same seed.
      if (ti === 0) {
        for (let c = 0; c < nInv; c++) {
          const seed = 1000 + c;
          const plain = new Map<PeerSystem, string>();
          for (const a of arms) {
            if (a.label === OPTIMUM_ARM) continue;
            const text = (await runArm(a, setup, timed[c], invT, seed, maxTokens, stopIds)).text;
            tick();
            const isPlain = a.label === 'none' || a.label === predictorLabel({ kind: 'none' });
            if (isPlain) {
              plain.set(a.system, text);
              continue;
            }
            const key = `${a.system} ${a.label}`;
            const e = inv.get(key) ?? { system: a.system, arm: a.label, identical: 0, cases: 0 };
            e.cases++;
            if (text === plain.get(a.system)) e.identical++;
            inv.set(key, e);
          }
        }
      }
    } finally {
      await target.dispose();
      await draft.dispose();
    }
  }
  await setup.engine.dispose();
  await optimum?.engine.dispose();
  const sum = (s: PeerSystem): Invariance => {
    const xs = [...inv.values()].filter((x) => x.system === s);
    return { identical: xs.reduce((a, x) => a + x.identical, 0), cases: xs.reduce((a, x) => a + x.cases, 0) };
  };
  const r0 = ratiosByThreads[0];
  return {
    ...reportHead('peer', o.argv ?? ['bench', 'peer'], threadList[0], dirs, t0),
    target: setup.targetSpec, variant: loadedOf('target').variant, loadedFile: loadedOf('target').loadedFile, llamaType: typeOf('target').toUpperCase(),
    drafter: drafterB, temperature: 0, invarianceTemperature: invT, prompts: nPrompts, maxTokens,
    threads: threadList, validation, sweep, best: { draft: predictorLabel(best.draft), lookup: predictorLabel(best.lookup) },
    rows, ratios: { ...r0 }, ratiosByThreads,
    invariance: { lockstep: sum('lockstep'), 'llama.cpp': sum('llama.cpp') }, invarianceByArm: [...inv.values()],
  };
}
