/**
 * Lockstep against llama.cpp at 4 bits, a standalone measurement beside `lockstep bench peer` (which compares fp32
 * with F32): the target's 4-bit forms in Lockstep — the fused copy (`export-fused --q4`: MatMulNBits, symmetric blocks
 * of 32, accuracy_level 4) and/or the folder's own onnx/model_q4.onnx as the engine loads it (the accuracy_level-4
 * copy) — against llama.cpp on the same fp32 weights converted to Q4_0 (the same block scheme, fp16 scales), with the
 * fp32 fused target and llama.cpp F32 in the same run unless `--no-fp32`. Plain decoding and Lockstep's prompt lookup
 * + a drafter; per prompt every arm once, the order rotated; decode tokens/s (first token to last), prefill, medians
 * of same-prompt ratios, per thread count. Greedy texts of the 4-bit pairs are compared (reported, not required: the
 * activations are quantized differently); `--validate-prompts N` checks Lockstep fp32 against llama.cpp F32 greedy ids.
 *   npx tsc -p . && node out/bench/peer-q4.js [--target DIR --drafter DIR] [--q4 fused --q4 file] [--help]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../src/cli/args';
import { EngineSetup, openEngine, setupStopIds } from '../src/cli/engineOpen';
import type { CompletionRequest } from '../src/engine/engine';
import { exportFusedDir } from '../src/onnx/fusedExport';
import { heldoutPrompts, median } from './common';
import { convertToGguf } from './peer/convert';
import { LlamaPeer, PeerSequence } from './peer/llamaPeer';
import { ValidationRow, validateModel } from './peer/validate';
import { PEER_Q4_HELP, PeerQ4Options, Q4Source, parsePeerQ4 } from './peerQ4Options';

const ROOT = path.join(__dirname, '..', '..');

type Prompt = { before: string; after: string };

interface Arm {
  label: string;
  kind: 'lockstep' | 'llama';
  /** The arms the goal compares: plain 4-bit Lockstep (per source) and plain llama.cpp Q4_0 / F32. */
  key?: string;
  setup?: EngineSetup;
  drafter?: string;
  seq?: PeerSequence;
}

function request(p: Prompt, drafter: string, o: PeerQ4Options): CompletionRequest {
  return {
    before: p.before, after: p.after, drafter, coupling: 'gumbel', seed: 0, sampling: { temperature: 0, topK: 0, topP: 1 }, gamma: 'auto',
    maxTokens: o.maxTokens, mode: 'free', ...(o.maxPromptTokens === undefined ? {} : { maxPromptTokens: o.maxPromptTokens }),
  };
}

/** Makes `file` with `make` unless a finished one is there (a work folder reused across runs); `.part` until done. */
function made(file: string, make: (to: string) => void): { file: string; seconds: number } {
  if (fs.existsSync(file)) return { file, seconds: 0 };
  const t0 = performance.now();
  const part = `${file}.part`;
  fs.rmSync(part, { recursive: true, force: true });
  make(part);
  fs.renameSync(part, file);
  return { file, seconds: (performance.now() - t0) / 1000 };
}


async function main(): Promise<void> {
  const o = parsePeerQ4(process.argv.slice(2), ROOT, process.cwd());
  if (!o) {
    console.log(PEER_Q4_HELP);
    return;
  }
  const work = o.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-peer-q4-'));
  fs.mkdirSync(work, { recursive: true });
  const base = path.basename(o.target);
  const q4 = { blockSize: 32, accuracyLevel: 4 };
  const prep: Record<string, number> = {};
  const make = (name: string, file: string, fn: (to: string) => void) => {
    const r = made(file, fn);
    prep[name] = r.seconds;
    return r.file;
  };
  const fusedDir = o.q4.includes('fused') ? make('fusedQ4', path.join(work, `${base}-fused-q4`), (to) => exportFusedDir(o.target, to, { q4 })) : '';
  const ggufQ4 = make('ggufQ4_0', path.join(work, `${base}-q4_0.gguf`), (to) => convertToGguf(o.target, to, 'q4_0'));
  const needF32 = o.fp32 || o.validatePrompts > 0;
  const ggufF32 = needF32 ? make('ggufF32', path.join(work, `${base}-f32.gguf`), (to) => convertToGguf(o.target, to)) : '';
  const lookup = `prompt-lookup+${o.drafter}`;
  const drafterLabel = o.drafter.includes('/') ? path.basename(o.drafter) : o.drafter.replace(/^lockstep-/, '');
  const loadStart = os.loadavg();
  const t0 = performance.now();
  const report: Record<string, unknown> = {
    bench: 'peer-q4', date: new Date().toISOString(), target: o.target, drafter: o.drafter, drafterVariant: o.drafterVariant ?? null,
    q4Sources: o.q4, prompts: o.prompts, maxTokens: o.maxTokens, maxPromptTokens: o.maxPromptTokens ?? null, threads: o.threads,
    prepSeconds: prep, argv: process.argv.slice(2),
  };
  const rounds: unknown[] = [];
  const engines: unknown[] = [];
  let validation: ValidationRow | null = null;
  for (const threads of o.threads) {
    const open = (src: Q4Source | 'fp32') => openEngine({
      target: src === 'fused' ? fusedDir : o.target, threads, ...(src === 'file' ? { variant: 'q4' } : {}),
      ...(o.fim === undefined ? {} : { fim: o.fim }), ...(src !== 'fp32' && o.drafterVariant !== undefined ? { 'drafter-variant': o.drafterVariant } : {}),
    }, [lookup], ROOT);
    const setups: { src: Q4Source | 'fp32'; setup: EngineSetup }[] = [];
    for (const src of o.q4) setups.push({ src, setup: await open(src) });
    if (o.fp32) setups.push({ src: 'fp32', setup: await open('fp32') });
    const ref = setups[0].setup;
    const { engine } = ref;
    const stopIds = setupStopIds(ref);
    // llama.cpp allocates the whole context per sequence: the held-out prompts fit in 4 096 positions.
    const ctx = Math.min(engine.target.config.maxPositions, 4096);
    const llamaQ4 = await LlamaPeer.load(ggufQ4, threads, ctx);
    const llamaF32 = o.fp32 ? await LlamaPeer.load(ggufF32, threads, ctx) : null;
    // The F32 check before timing, on bench peer's validation prompts (seed 11); its fp32 model is disposed after it.
    if (o.validatePrompts > 0 && validation === null) {
      const peer = await LlamaPeer.load(ggufF32, 1, ctx);
      try {
        const ids = heldoutPrompts(o.validatePrompts, 11).map((p) => engine.promptFor(request(p, 'none', o)));
        validation = await validateModel(base, o.target, peer, ids, o.validateTokens, stopIds, engine.tokenizer.vocabSize, 'fp32');
        console.log(`validation (Lockstep fp32 vs llama.cpp F32, ≤ ${o.validateTokens} tokens): ${validation.identical}/${validation.prompts} identical ${JSON.stringify(validation.firstMismatch ?? {})}`);
      } finally {
        await peer.dispose();
      }
    }
    if (o.validateOnly) {
      await Promise.all([...setups.map((s) => s.setup.engine.dispose()), llamaQ4.dispose(), ...(llamaF32 ? [llamaF32.dispose()] : [])]);
      break;
    }
    const arms: Arm[] = [];
    for (const { src, setup } of setups) {
      const name = src === 'fp32' ? 'fused fp32' : src === 'fused' ? 'fused q4' : 'model_q4.onnx (acc-4 copy)';
      const info = setup.engine.info();
      const file = info.loadNotes.join('; ');
      // Which file loaded and the call rule the exactness probe chose (a padded rule costs a second row per call).
      engines.push({ threads, src, loadNotes: info.loadNotes, exact: info.exactness.exact, rule: info.exactness.rule ?? null, probeSeconds: info.exactness.seconds });
      arms.push({ label: `lockstep ${name}, none`, kind: 'lockstep', key: `lockstep-${src}`, setup, drafter: 'none' });
      arms.push({ label: `lockstep ${name}, prompt-lookup+${drafterLabel}`, kind: 'lockstep', setup, drafter: lookup });
      process.stderr.write(`${name}: ${file}\n`);
    }
    arms.push({ label: 'llama.cpp Q4_0, none', kind: 'llama', key: 'llama-q4_0', seq: await llamaQ4.sequence({ kind: 'none' }) });
    if (llamaF32) arms.push({ label: 'llama.cpp F32, none', kind: 'llama', key: 'llama-f32', seq: await llamaF32.sequence({ kind: 'none' }) });
    // As bench peer: prompts whose greedy completion ends at once time nothing; keep those with ≥ 8 tokens.
    const prompts: Prompt[] = [];
    for (const p of heldoutPrompts(o.prompts * 4, 2)) {
      if (prompts.length === o.prompts) break;
      engine.resetCaches();
      if ((await engine.complete(request(p, 'none', o))).tokens >= Math.min(8, o.maxTokens)) prompts.push({ before: p.before, after: p.after });
    }
    const tps: number[][] = arms.map(() => []);
    const prefill: number[][] = arms.map(() => []);
    const texts: string[][] = arms.map(() => []);
    let promptTokens = 0;
    for (let i = 0; i < prompts.length; i++) {
      for (let k = 0; k < arms.length; k++) {
        const j = (k + i) % arms.length;
        const a = arms[j];
        const req = request(prompts[i], a.drafter ?? 'none', o);
        if (a.setup) {
          a.setup.engine.resetCaches();
          const r = await a.setup.engine.complete(req);
          tps[j].push(r.tokensPerSecond);
          prefill[j].push(r.prefillSeconds * 1000);
          texts[j].push(r.text);
        } else {
          const prompt = engine.promptFor(req);
          promptTokens = Math.max(promptTokens, prompt.length);
          const r = await a.seq!.generate(prompt, { maxTokens: engine.fitContext(req).maxTokens, temperature: 0, seed: 0, stopIds });
          // A completion of one token has no decode time: no rate (left out of the medians).
          tps[j].push(r.ids.length > 1 ? r.ids.length / r.decodeSeconds : NaN);
          prefill[j].push(r.prefillSeconds * 1000);
          texts[j].push(engine.tokenizer.decode(r.ids));
        }
      }
      process.stderr.write(`threads ${threads}: prompt ${i + 1}/${prompts.length}\n`);
    }
    const finite = (xs: number[]) => median(xs.filter((x) => Number.isFinite(x) && x > 0));
    const idx = (key: string) => arms.findIndex((a) => a.key === key);
    const ratio = (a: number, b: number) => (a < 0 || b < 0 ? NaN : finite(tps[a].map((x, i) => x / tps[b][i])));
    const same = (a: number, b: number) => (a < 0 || b < 0 ? null : texts[a].filter((t, i) => t === texts[b][i]).length);
    const q4i = idx('llama-q4_0');
    const f32i = idx('llama-f32');
    const rows = arms.map((a, k) => ({
      arm: a.label, tokensPerSecond: finite(tps[k]), prefillMs: finite(prefill[k]), vsLlamaQ4_0: ratio(k, q4i), vsLlamaF32: ratio(k, f32i),
    }));
    const plain = Object.fromEntries(o.q4.map((s) => [s, ratio(idx(`lockstep-${s}`), q4i)]));
    const agreement = {
      ...Object.fromEntries(o.q4.map((s) => [`${s}VsLlamaQ4_0`, same(idx(`lockstep-${s}`), q4i)])),
      fp32VsLlamaF32: same(idx('lockstep-fp32'), f32i), of: prompts.length,
    };
    rounds.push({ threads, promptTokens, rows, greedyTextsEqual: agreement, goals: { plainQ4: plain, bestPlainQ4: Math.max(...Object.values(plain)) } });
    for (const r of rows) {
      console.log(`[${threads}t] ${r.arm.padEnd(56)} ${r.tokensPerSecond.toFixed(1).padStart(7)} tok/s  prefill ${r.prefillMs.toFixed(0).padStart(6)} ms  ÷ Q4_0 ${r.vsLlamaQ4_0.toFixed(2)}×  ÷ F32 ${r.vsLlamaF32.toFixed(2)}×`);
    }
    console.log(JSON.stringify({ threads, greedyTextsEqual: agreement, plainQ4: plain, load: os.loadavg() }));
    await Promise.all([...setups.map((s) => s.setup.engine.dispose()), llamaQ4.dispose(), ...(llamaF32 ? [llamaF32.dispose()] : [])]);
  }
  Object.assign(report, { seconds: (performance.now() - t0) / 1000, loadAverage: { start: loadStart, end: os.loadavg() }, validation, engines, rounds });
  fs.mkdirSync(o.out, { recursive: true });
  fs.writeFileSync(path.join(o.out, `${o.name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  if (o.work === undefined) fs.rmSync(work, { recursive: true, force: true });
}

main().catch((e: Error) => {
  console.error(e instanceof UsageError ? `peer-q4: ${e.message}` : (e.stack ?? e.message));
  process.exit(e instanceof UsageError ? 2 : 1);
});
