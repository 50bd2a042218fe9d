/**
 * Greedy decoding and the temperature's edge cases: T = 0, and any T below GREEDY_BELOW, gives the argmax with ties to
 * the lowest id and no randomness in both couplings and the Distribution; from GREEDY_BELOW up to T = 5 everything
 * stays finite and samples the softmax.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GREEDY_BELOW, argmaxLowestId, isGreedy } from '../../../src/engine/decode/greedy';
import { Distribution } from '../../../src/engine/decode/sampling';
import { GumbelSampler } from '../../../src/engine/decode/couplings/gumbel';
import { WeightedMinHashSampler } from '../../../src/engine/decode/couplings/wmh';
import { makeSampler } from '../../../src/engine/decode/couplings/registry';
import { standardTarget } from '../../../src/engine/decode/couplings/standard';
import { LOGITS8, SEED, lmLogits, plain } from '../../helpers/samplingInputs';
import { N, assertFollows, drawCounts } from '../../helpers/samplingStats';
import { naiveDense } from '../../helpers/samplingReference';

describe('T = 0 is greedy', () => {
  test('argmax with ties to the lowest id, no randomness, for both couplings', () => {
    const l = new Float32Array([1, 4, 2, 4, 4, -3, 10]); // id 6 is padding beyond vocabLimit 6
    for (const kind of ['gumbel', 'wmh'] as const) {
      for (const seed of [0, 1, 2 ** 40]) {
        const sampler = makeSampler(kind, { temperature: 0, topK: 5, topP: 0.5 }, seed, 6);
        for (let pos = 0; pos < 50; pos++) assert.equal(sampler.sample(l, pos), 1);
      }
    }
  });

  // LM-shaped logits where the argmax is far from the lowest id with a positive logit: at T = 1e-308 the old Gumbel
  // scores overflowed to +∞ for every positive logit and that lowest id won.
  const V = 4096;
  const lm = lmLogits(V, 11);
  const top = argmaxLowestId(lm, V);
  const firstPositive = lm.findIndex((x) => x > 0);
  const tiny = [1e-7, 9.99e-7, 1e-12, 1e-300, 1e-307, 1e-308, 1e-320, Number.MIN_VALUE];

  test('the threshold: below GREEDY_BELOW greedy, from it on not', () => {
    assert.equal(GREEDY_BELOW, 1e-6);
    for (const T of [0, ...tiny]) assert.ok(isGreedy(T), `T = ${T}`);
    for (const T of [GREEDY_BELOW, 1.0000001e-6, 0.2, 5]) assert.ok(!isGreedy(T), `T = ${T}`);
  });

  test('temperatures below GREEDY_BELOW give exactly the T = 0 token, for both couplings, without randomness', () => {
    assert.ok(firstPositive < top, 'the test needs a positive logit below the argmax');
    for (const T of tiny) {
      for (const s of [plain(T), { temperature: T, topK: 40, topP: 0.9 }]) {
        const g = new GumbelSampler(s, SEED, V);
        const w = new WeightedMinHashSampler(s, SEED, V);
        for (let pos = 0; pos < 20; pos++) {
          assert.equal(g.sample(lm, pos), top, `gumbel T = ${T} position ${pos}`);
          assert.equal(g.hashed, 0, `gumbel T = ${T} hashed noise`);
          assert.equal(w.sample(lm, pos), top, `wmh T = ${T} position ${pos}`);
          assert.equal(w.darts, 0, `wmh T = ${T} threw darts`); // T = 1e-320 used to throw all 64·V
        }
      }
    }
  });

  test('below GREEDY_BELOW exact ties go to the lowest id, as at T = 0 (no random tie-break)', () => {
    const l = new Float32Array(64).fill(-2);
    for (const i of [7, 21, 40, 63]) l[i] = 3;
    for (const kind of ['gumbel', 'wmh'] as const) {
      const sampler = makeSampler(kind, plain(5e-7), SEED, 64);
      for (let pos = 0; pos < 100; pos++) assert.equal(sampler.sample(l, pos), 7, `${kind} position ${pos}`);
    }
  });

  test('the Distribution (and so the standard sampler) is greedy below GREEDY_BELOW', () => {
    const d = new Distribution(V);
    const dense = new Float32Array(V);
    for (const T of tiny) {
      for (const s of [plain(T), { temperature: T, topK: 3, topP: 0.5 }]) {
        d.fromLogits(lm, s);
        assert.equal(d.size, 1, `T = ${T}`);
        assert.equal(d.ids[0], top);
        assert.equal(d.prob(top), 1);
        assert.equal(d.maxProb, 1);
        d.fullProbs(dense);
        for (let pos = 0; pos < 10; pos++) assert.equal(standardTarget(dense, V, SEED, pos), top);
      }
    }
  });

  test('from GREEDY_BELOW up to T = 5 everything stays finite and samples the softmax', () => {
    const max = 3.4028234663852886e38; // the largest float32
    const extreme = new Float32Array([max, -max, 0, max * 0.999, -1, 1]);
    for (const T of [GREEDY_BELOW, 1.0000001e-6, 1e-3, 1, 5]) {
      for (const l of [lm, extreme]) {
        const n = l.length;
        const d = new Distribution(n);
        d.fromLogits(l, plain(T));
        assert.ok(Number.isFinite(d.maxProb) && d.maxProb > 0 && d.maxProb <= 1, `T = ${T}: maxProb ${d.maxProb}`);
        const dense = new Float64Array(n);
        d.fullProbs(dense);
        let sum = 0;
        for (const p of dense) {
          assert.ok(Number.isFinite(p) && p >= 0);
          sum += p;
        }
        assert.ok(Math.abs(sum - 1) < 1e-9, `T = ${T}: probabilities sum to ${sum}`);
        for (const kind of ['gumbel', 'wmh'] as const) {
          const sampler = makeSampler(kind, plain(T), SEED, n);
          for (let pos = 0; pos < 20; pos++) {
            const x = sampler.sample(l, pos);
            assert.ok(Number.isInteger(x) && x >= 0 && x < n, `${kind} T = ${T}: ${x}`);
            if (T < 1e-3) assert.equal(x, argmaxLowestId(l, n), `${kind} T = ${T}: a far-from-tied maximum wins`);
          }
          if (kind === 'wmh') assert.ok((sampler as WeightedMinHashSampler).darts < 64 * n, 'WMH fell back');
        }
      }
    }
    // Just above the threshold near-ties are still sampled, by the softmax: logits 2^-20 apart at T = 2e-6.
    const near = new Float32Array([0, 1, 1 - 2 ** -20, -1]);
    assert.equal(near[2], 1 - 2 ** -20);
    for (const kind of ['gumbel', 'wmh'] as const) {
      const sampler = makeSampler(kind, plain(2e-6), SEED, 4);
      const counts = drawCounts(sampler, near, N);
      assertFollows(`${kind} T = 2e-6`, counts, naiveDense(near, 4, plain(2e-6)), N);
    }
    // T = 5, the settings' maximum: the flattened softmax.
    for (const kind of ['gumbel', 'wmh'] as const) {
      const counts = drawCounts(makeSampler(kind, plain(5), SEED, 8), LOGITS8, N);
      assertFollows(`${kind} T = 5`, counts, naiveDense(LOGITS8, 8, plain(5)), N);
    }
  });
});
