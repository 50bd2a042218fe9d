/**
 * Lockstep against llama.cpp at 4 bits, a standalone measurement beside `lockstep bench peer` (which compares fp32
 * with F32): the shipped target as the fused 4-bit copy (`export-fused --q4`: MatMulNBits, symmetric blocks of 32,
 * accuracy_level 4) against llama.cpp on the same target converted to Q4_0 (the same block scheme, fp16 scales), with
 * the fp32 fused target and llama.cpp F32 in the same run. Plain decoding and Lockstep's prompt lookup + drafter B;
 * per prompt every arm once, the order rotated; decode tokens/s (first token to last), medians of same-prompt ratios.
 * Greedy texts of the 4-bit pair are compared (reported, not required: the activations are quantized differently).
 *   npx tsc -p . && node out/bench/peer-q4.js [--prompts 8] [--max-tokens 64] [--out bench/results]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineSetup, openEngine } from '../src/cli/engineOpen';
import type { CompletionRequest } from '../src/engine/engine';
import { exportFusedDir } from '../src/onnx/fusedExport';
import { heldoutPrompts, median } from './common';
import { convertToGguf } from './peer/convert';
import { LlamaPeer, PeerSequence } from './peer/llamaPeer';

const ROOT = path.join(__dirname, '..', '..');
const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
};

interface Arm {
  label: string;
  setup?: EngineSetup;
  drafter?: string;
  seq?: PeerSequence;
}

function request(p: { before: string; after: string }, drafter: string, maxTokens: number): CompletionRequest {
  return { before: p.before, after: p.after, drafter, coupling: 'gumbel', seed: 0, sampling: { temperature: 0, topK: 0, topP: 1 }, gamma: 'auto', maxTokens, mode: 'free' };
}

async function main(): Promise<void> {
  const nPrompts = Number(arg('prompts', '8'));
  const maxTokens = Number(arg('max-tokens', '64'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-peer-q4-'));
  const target = path.join(ROOT, 'models', 'lockstep-target');
  const q4Dir = path.join(tmp, 'target-q4');
  exportFusedDir(target, q4Dir, { q4: { blockSize: 32, accuracyLevel: 4 } });
  const ggufF32 = convertToGguf(target, path.join(tmp, 'target-f32.gguf')).file;
  const ggufQ4 = convertToGguf(target, path.join(tmp, 'target-q4_0.gguf'), 'q4_0').file;
  const loadStart = os.loadavg();
  const drafters = ['prompt-lookup+lockstep-drafter-b'];
  const fp32 = await openEngine({ target, threads: 1 }, drafters, ROOT);
  const q4 = await openEngine({ target: q4Dir, threads: 1, fim: 'lockstep' }, drafters, ROOT);
  const { engine } = fp32;
  const stopIds = new Set<number>(engine.target.config.eosTokenIds);
  for (const s of engine.fim.stopTokens) {
    const id = engine.tokenizer.specialTokenId(s);
    if (id !== undefined) stopIds.add(id);
  }
  const ctx = Math.min(engine.target.config.maxPositions, 4096);
  const llamaF32 = await LlamaPeer.load(ggufF32, 1, ctx);
  const llamaQ4 = await LlamaPeer.load(ggufQ4, 1, ctx);
  const arms: Arm[] = [
    { label: 'lockstep fused fp32, none', setup: fp32, drafter: 'none' },
    { label: 'lockstep fused fp32, prompt-lookup+drafter-b', setup: fp32, drafter: drafters[0] },
    { label: 'lockstep fused q4, none', setup: q4, drafter: 'none' },
    { label: 'lockstep fused q4, prompt-lookup+drafter-b', setup: q4, drafter: drafters[0] },
    { label: 'llama.cpp F32, none', seq: await llamaF32.sequence({ kind: 'none' }) },
    { label: 'llama.cpp Q4_0, none', seq: await llamaQ4.sequence({ kind: 'none' }) },
  ];
  // As bench peer: prompts whose greedy completion ends at once time nothing; keep those with ≥ 8 tokens.
  const prompts: { before: string; after: string }[] = [];
  for (const p of heldoutPrompts(nPrompts * 4, 2)) {
    if (prompts.length === nPrompts) break;
    engine.resetCaches();
    if ((await engine.complete(request(p, 'none', maxTokens))).tokens >= Math.min(8, maxTokens)) prompts.push({ before: p.before, after: p.after });
  }
  const tps: number[][] = arms.map(() => []);
  const texts: string[][] = arms.map(() => []);
  for (let i = 0; i < prompts.length; i++) {
    for (let k = 0; k < arms.length; k++) {
      const a = arms[(k + i) % arms.length];
      const req = request(prompts[i], a.drafter ?? 'none', maxTokens);
      let rate: number;
      let text: string;
      if (a.setup) {
        a.setup.engine.resetCaches();
        const r = await a.setup.engine.complete(req);
        [rate, text] = [r.tokensPerSecond, r.text];
      } else {
        const r = await a.seq!.generate(engine.promptFor(req), { maxTokens: engine.fitContext(req).maxTokens, temperature: 0, seed: 0, stopIds });
        // A completion of one token has no decode time: no rate (left out of the medians).
        [rate, text] = [r.ids.length > 1 ? r.ids.length / r.decodeSeconds : NaN, engine.tokenizer.decode(r.ids)];
      }
      tps[(k + i) % arms.length].push(rate);
      texts[(k + i) % arms.length].push(text);
    }
    process.stderr.write(`prompt ${i + 1}/${prompts.length}\n`);
  }
  const finite = (xs: number[]) => median(xs.filter((x) => Number.isFinite(x) && x > 0));
  const ratio = (a: number, b: number) => finite(tps[a].map((x, i) => x / tps[b][i]));
  const rows = arms.map((a, k) => ({ arm: a.label, tokensPerSecond: finite(tps[k]), vsLlamaF32: ratio(k, 4), vsLlamaQ4: ratio(k, 5) }));
  const report = {
    bench: 'peer-q4', date: new Date().toISOString(), prompts: nPrompts, maxTokens, threads: 1,
    loadAverage: { start: loadStart, end: os.loadavg() }, rows,
    greedyTextsEqual: { q4Pair: texts[2].filter((t, i) => t === texts[5][i]).length, f32Pair: texts[0].filter((t, i) => t === texts[4][i]).length, of: nPrompts },
    goals: { plainQ4: ratio(2, 5), bestQ4: finite(tps[3].map((x, i) => x / Math.max(tps[5][i], tps[4][i]))) },
  };
  for (const r of rows) console.log(`${r.arm.padEnd(48)} ${r.tokensPerSecond.toFixed(1).padStart(7)} tok/s  ÷ llama F32 ${r.vsLlamaF32.toFixed(2)}×  ÷ llama Q4_0 ${r.vsLlamaQ4.toFixed(2)}×`);
  console.log(JSON.stringify({ greedyTextsEqual: report.greedyTextsEqual, goals: report.goals, loadAverage: report.loadAverage }));
  const out = path.resolve(arg('out', '.bench-results'));
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'peer-q4.json'), `${JSON.stringify(report, null, 2)}\n`);
  await Promise.all([fp32.engine.dispose(), q4.engine.dispose(), llamaF32.dispose(), llamaQ4.dispose()]);
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
