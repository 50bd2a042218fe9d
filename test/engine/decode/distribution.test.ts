/**
 * The kept distribution (src/engine/decode/sampling.ts): temperature, top-k and top-p against a full sort of a
 * Qwen-sized vocabulary, ties broken toward the lower id, padding columns never kept, T = 0 keeping the argmax,
 * and invalid settings refused.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SamplingSettings } from '../../../src/engine/decode/types';
import { argmaxLowestId } from '../../../src/engine/decode/greedy';
import { Distribution } from '../../../src/engine/decode/sampling';
import { makeSampler } from '../../../src/engine/decode/couplings/registry';
import { lmLogits, plain, prng, range } from '../../helpers/samplingInputs';
import { naiveDense, naiveKept } from '../../helpers/samplingReference';

describe('Distribution (temperature / top-k / top-p)', () => {
  const V = 151936;
  const big = lmLogits(V + 64, 11); // 64 padding columns beyond the vocabulary
  for (let i = V; i < V + 64; i++) big[i] = 50; // padding must never be kept
  const cases: SamplingSettings[] = [
    { temperature: 1, topK: 50, topP: 1 },
    { temperature: 1, topK: 0, topP: 0.9 },
    { temperature: 0.7, topK: 40, topP: 0.95 },
    { temperature: 0.2, topK: 0, topP: 0.5 },
    { temperature: 1.5, topK: 0, topP: 0.999 },
    { temperature: 1, topK: 0, topP: 0 },
  ];
  for (const s of cases) {
    test(`matches a full sort at V = ${V}: ${JSON.stringify(s)}`, () => {
      const d = new Distribution(V);
      d.fromLogits(big, s);
      const ref = naiveKept(big, V, s);
      assert.equal(d.size, ref.ids.length);
      assert.deepEqual(Array.from(d.ids.subarray(0, d.size)), ref.ids);
      let sum = 0;
      for (let j = 0; j < d.size; j++) {
        assert.ok(Math.abs(d.probs[j] - ref.probs[j]) <= 1e-6 * ref.probs[j] + 1e-12);
        assert.ok(Math.abs(d.prob(d.ids[j]) - d.probs[j]) <= 1e-7 * d.probs[j] + 1e-30);
        sum += d.prob(d.ids[j]);
      }
      assert.ok(Math.abs(sum - 1) < 1e-9, `kept mass ${sum}`);
      const dense = new Float64Array(V + 64);
      d.fullProbs(dense);
      const refDense = naiveDense(big, V, s);
      for (let i = 0; i < V + 64; i++) {
        const r = i < V ? refDense[i] : 0;
        assert.ok(Math.abs(dense[i] - r) <= 1e-12, `fullProbs[${i}] = ${dense[i]}, want ${r}`);
        assert.equal(d.prob(i), dense[i]);
      }
    });
  }

  test('ties are broken toward the lower id (flat and integer logits)', () => {
    const flat = new Float32Array(1000);
    const d = new Distribution(1000);
    d.fromLogits(flat, { temperature: 1, topK: 7, topP: 1 });
    assert.deepEqual(Array.from(d.ids.subarray(0, d.size)), [0, 1, 2, 3, 4, 5, 6]);
    for (let i = 0; i < 1000; i++) assert.equal(d.prob(i), i < 7 ? 1 / 7 : 0, `prob(${i}) with the cut on a tie`);
    d.fromLogits(flat, { temperature: 1, topK: 0, topP: 0.0105 }); // needs 11 of 1000
    assert.deepEqual(Array.from(d.ids.subarray(0, d.size)), range(11));
    for (let i = 0; i < 1000; i++) assert.equal(d.prob(i), i < 11 ? 1 / 11 : 0);
    // Mass exactly p: the prefix stops there ("reaches p" is ≥, not >).
    d.fromLogits(new Float32Array(4), { temperature: 1, topK: 0, topP: 0.5 });
    assert.deepEqual(Array.from(d.ids.subarray(0, d.size)), [0, 1]);
    d.fromLogits(new Float32Array(1000), { temperature: 1, topK: 8, topP: 0.25 });
    assert.deepEqual(Array.from(d.ids.subarray(0, d.size)), [0, 1]);
    const rand = prng(3);
    const ints = new Float32Array(5000).map(() => Math.floor(rand() * 6));
    for (const s of [
      { temperature: 1, topK: 100, topP: 1 },
      { temperature: 0.5, topK: 0, topP: 0.3 },
      { temperature: 2, topK: 3000, topP: 0.7 },
    ]) {
      const e = new Distribution(5000);
      e.fromLogits(ints, s);
      assert.deepEqual(Array.from(e.ids.subarray(0, e.size)), naiveKept(ints, 5000, s).ids, JSON.stringify(s));
      const dense = naiveDense(ints, 5000, s);
      for (let i = 0; i < 5000; i++) assert.ok(Math.abs(e.prob(i) - dense[i]) < 1e-12, `prob(${i})`);
    }
  });

  test('no restriction: every candidate kept in id order; T = 0 keeps the argmax', () => {
    const l = new Float32Array([0.5, 3, 3, -1, 9]); // id 4 is padding beyond vocabLimit 4
    const d = new Distribution(4);
    d.fromLogits(l, plain(1));
    assert.equal(d.size, 4);
    assert.deepEqual(Array.from(d.ids.subarray(0, 4)), [0, 1, 2, 3]);
    const ref = naiveKept(l, 4, plain(1));
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(d.probs[i] - ref.probs[ref.ids.indexOf(i)]) < 1e-7);
    assert.equal(d.prob(4), 0);
    assert.equal(d.argmaxId, 1);
    d.fromLogits(l, plain(0));
    assert.equal(d.size, 1);
    assert.equal(d.ids[0], 1);
    assert.equal(d.prob(1), 1);
    assert.equal(d.prob(2), 0);
    assert.equal(argmaxLowestId(l, 4), 1);
    assert.equal(argmaxLowestId(l, 5), 4);
  });

  test('invalid settings are rejected', () => {
    const d = new Distribution(4);
    const l = new Float32Array(4);
    assert.throws(() => d.fromLogits(l, { temperature: -1, topK: 0, topP: 1 }), RangeError);
    assert.throws(() => d.fromLogits(l, { temperature: 1, topK: 1.5, topP: 1 }), RangeError);
    assert.throws(() => d.fromLogits(l, { temperature: 1, topK: 0, topP: 1.5 }), RangeError);
    assert.throws(() => makeSampler('gumbel', plain(1), -1, 4), RangeError);
    assert.throws(() => makeSampler('wmh', plain(1), 2 ** 53, 4), RangeError);
  });
});
