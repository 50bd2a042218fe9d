/**
 * Drafting by measurement: the target's call costs T(k)/T(1) (callCosts.ts) enter adaptive γ (decode.ts), and the
 * `auto` drafter (drafters/auto.ts) picks, round by round, the drafter predicted to be fastest — or none — from the
 * acceptance and costs it has seen; its text is the text of any other drafter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallCosts } from '../../../src/engine/runtime/callCosts';
import { chooseGamma, predictedSpeedup } from '../../../src/engine/decode/decode';
import { AutoDrafter } from '../../../src/engine/decode/drafters/auto';
import type { Drafter, Drafts } from '../../../src/engine/decode/drafters/drafter';
import { CompletionRequest, Engine } from '../../../src/engine/process/engine';
import { DRAFTER_B_DIR, TARGET_DIR } from '../../helpers/models';

test('call costs: a moving average per token count, interpolated between measured counts, 1 when nothing is measured', () => {
  const c = new CallCosts();
  assert.equal(c.ratio(8), 1);
  c.record(1, 0.010);
  c.record(9, 0.030);
  assert.equal(c.ratio(9), 3);
  assert.ok(Math.abs(c.ratio(5) - 2) < 1e-9, `${c.ratio(5)}`);
  assert.equal(c.ratio(20), 3, 'past the last measured count: the last measured cost');
  c.record(1, 0.020);
  assert.ok(Math.abs(c.secondsFor(1) - 0.012) < 1e-12, 'moving average, weight 0.2');
  c.reset();
  assert.equal(c.secondsFor(1), 0);
});

test('adaptive γ: a verification call that costs more per token shortens the drafts', () => {
  const flat = chooseGamma(0.8, 0.02, 16);
  const steep = chooseGamma(0.8, 0.02, 16, (k) => 1 + 0.25 * (k - 1));
  assert.ok(steep < flat, `steep ${steep}, flat ${flat}`);
  assert.ok(predictedSpeedup(0.8, 4, 0.02, 2) < predictedSpeedup(0.8, 4, 0.02, 1));
});

/** A drafter that proposes the continuation of `truth` (right `hit` of the time: the rest of its drafts are wrong). */
function fake(name: string, truth: number[], hit: number, seconds = 0, delayMs = 0): Drafter {
  let n = 0;
  return {
    name,
    secondsPerCall: seconds,
    async draft(context: readonly number[], gamma: number): Promise<Drafts> {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const tokens: number[] = [];
      for (let i = 0; i < gamma; i++) {
        n++;
        tokens.push((n * 7919) % 1000 < hit * 1000 ? truth[context.length + i] : -1);
      }
      return { tokens, calls: 0 };
    },
    reset() {},
  };
}

/** The decode loop's view: accept drafts while they match `truth`, then one token of the target's own. */
async function rounds(d: AutoDrafter, truth: number[], count: number): Promise<string[]> {
  const used: string[] = [];
  let context = truth.slice(0, 4);
  for (let r = 0; r < count && context.length + 9 < truth.length; r++) {
    const { tokens } = await d.draft(context, 4, { sampler: { sample: () => 0 } });
    used.push(d.current ?? 'none');
    let a = 0;
    while (a < tokens.length && tokens[a] === truth[context.length + a]) a++;
    context = truth.slice(0, context.length + a + 1);
  }
  return used;
}

test('auto drafter: settles on the drafter that is accepted, and drafts nothing when none is predicted to pay', async () => {
  const truth = Array.from({ length: 5000 }, (_, i) => (i * 31) % 97);
  const costs = new CallCosts();
  costs.record(1, 0.01);
  costs.record(5, 0.012);
  const good = fake('good', truth, 0.9);
  const bad = fake('bad', truth, 0.05);
  const auto = new AutoDrafter(() => [bad, good], () => costs);
  const used = await rounds(auto, truth, 200);
  const late = used.slice(100);
  assert.ok(late.filter((u) => u === 'good').length > 0.9 * late.length, late.join(','));
  assert.ok(used.includes('bad'), 'every drafter is tried');
  const scores = auto.scores(4);
  assert.ok(scores.find((s) => s.name === 'good')!.score > scores.find((s) => s.name === 'bad')!.score);

  // Expensive and rarely right: plain decoding is predicted to be faster, so nothing is drafted (but a revisit).
  const slow = fake('slow', truth, 0.05, 0.01);
  const alone = new AutoDrafter(() => [slow], () => costs);
  const usedAlone = await rounds(alone, truth, 200);
  const plain = usedAlone.slice(50).filter((u) => u === 'none').length;
  assert.ok(plain > 0.9 * usedAlone.slice(50).length, usedAlone.slice(50).join(','));
});

test('auto drafter: a drafter that says it is free but takes long to draft (a model catching up on a prompt) is measured and left', async () => {
  const truth = Array.from({ length: 5000 }, (_, i) => (i * 31) % 97);
  const costs = new CallCosts();
  costs.record(1, 0.002);
  costs.record(5, 0.0025);
  const slowModel = fake('slow-model', truth, 0.5, 0, 20);
  const lookup = fake('lookup', truth, 0.7);
  const auto = new AutoDrafter(() => [slowModel, lookup], () => costs);
  const used = await rounds(auto, truth, 120);
  const late = used.slice(20);
  assert.ok(late.filter((u) => u === 'slow-model').length <= 4, late.join(','));
  assert.ok(late.filter((u) => u === 'lookup').length > 0.8 * late.length, late.join(','));
});

test('auto drafter in the engine: the same bytes as plain decoding at T = 0 and 0.7, drafting when it pays', async () => {
  const engine = await Engine.create({ target: TARGET_DIR, threads: 1, drafters: [{ name: 'drafter-b', dir: DRAFTER_B_DIR }] });
  assert.ok(engine.drafterNames().includes('auto'));
  let drafted = 0;
  for (const [i, temperature] of [0, 0.7, 0, 0.7].entries()) {
    const req: CompletionRequest = {
      before: `function total${i}(items) {\n  let sum = 0;\n  for (const item of items) {\n    sum += item.price;\n  }\n  return sum;\n}\n\nfunction count${i}(items) {\n  let sum = 0;\n  for (const item of items) {\n`,
      after: '\n}\n', drafter: 'none', coupling: 'gumbel', seed: 40 + i, sampling: { temperature, topK: 0, topP: 1 }, gamma: 'auto', maxTokens: 40, mode: 'free',
    };
    const plain = await engine.complete(req);
    const auto = await engine.complete({ ...req, drafter: 'auto' });
    assert.equal(auto.text, plain.text, `case ${i}`);
    drafted += auto.drafted;
  }
  assert.ok(drafted > 0, 'auto drafted at least sometimes');
  await engine.dispose();
});
