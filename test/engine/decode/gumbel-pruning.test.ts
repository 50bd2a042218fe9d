/**
 * Gumbel-max with pruning (GumbelSampler) picks exactly the token of the full scan, on a Qwen-sized vocabulary, with
 * exact ties, top-k / top-p, huge or infinite logits; and pruneThreshold is safe in floating point.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GUMBEL_MAX } from '../../../src/engine/decode/rng';
import { GumbelSampler, pruneThreshold } from '../../../src/engine/decode/couplings/gumbel';
import { SEED, lmLogits, plain, prng, range } from '../../helpers/samplingInputs';
import { gumbelFullScan, naiveKept } from '../../helpers/samplingReference';

describe('exact pruning of Gumbel-max', () => {
  const V = 151936;
  const shapes: Array<[string, Float32Array]> = [['lm', lmLogits(V, 1)], ['lm2', lmLogits(V, 2)]];
  {
    const rand = prng(4);
    const ties = new Float32Array(V).map(() => Math.floor(rand() * 4)); // many exact ties
    for (let i = 0; i < V; i += 997) ties[i] = -Infinity;
    shapes.push(['integer ties', ties]);
    // Random weights give flat rows: every token within GUMBEL_MAX of the best, pruned only by U_FLOOR's test.
    const flat = new Float32Array(V).map(() => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
    shapes.push(['flat', flat]);
  }
  for (const [name, logits] of shapes) {
    for (const T of [1, 0.7, 0.2]) {
      test(`${name}, T = ${T}: pruned scan == full scan`, () => {
        const sampler = new GumbelSampler(plain(T), SEED, V);
        const all = range(V);
        for (let pos = 0; pos < 4; pos++) {
          const want = gumbelFullScan(logits, all, T, SEED, pos);
          assert.equal(sampler.sample(logits, pos), want, `position ${pos}`);
          // Pruning must actually prune where the bound is tight (peaked logits, low T).
          if (name.startsWith('lm') && T === 0.2) assert.ok(sampler.hashed < 1000, `hashed ${sampler.hashed}`);
        }
      });
    }
  }

  test('equal scores go to the lowest id (huge or +∞ logits absorb the noise, so scores tie)', () => {
    for (const big of [1e30, Infinity]) {
      const l = new Float32Array(64).fill(0);
      l[40] = big;
      l[9] = big;
      l[50] = big;
      for (const s of [plain(1), { temperature: 1, topK: 5, topP: 1 }]) {
        const sampler = new GumbelSampler(s, SEED, 64);
        for (let pos = 0; pos < 20; pos++) assert.equal(sampler.sample(l, pos), 9);
        assert.equal(gumbelFullScan(l, range(64), 1, SEED, 0), 9);
      }
    }
  });

  test('flat logits: every token ties on the logit, the noise decides', () => {
    const flat = new Float32Array(3000);
    const sampler = new GumbelSampler(plain(1), 3, 3000);
    for (let pos = 0; pos < 20; pos++) assert.equal(sampler.sample(flat, pos), gumbelFullScan(flat, range(3000), 1, 3, pos));
  });

  test('with top-k / top-p the scan over kept ids matches the full scan of the kept set', () => {
    const logits = shapes[0][1];
    for (const s of [
      { temperature: 1, topK: 50, topP: 1 },
      { temperature: 0.7, topK: 0, topP: 0.9 },
      { temperature: 1, topK: 200, topP: 0.95 },
    ]) {
      const kept = naiveKept(logits, V, s).ids;
      const sampler = new GumbelSampler(s, SEED, V);
      for (let pos = 0; pos < 5; pos++) {
        assert.equal(sampler.sample(logits, pos), gumbelFullScan(logits, kept, s.temperature, SEED, pos));
      }
    }
  });

  test('pruneThreshold is safe in floating point', () => {
    const rand = prng(8);
    for (let t = 0; t < 2000; t++) {
      const T = [1, 0.7, 0.2, 0.013, 3][t % 5];
      const best = (rand() - 0.5) * 10 ** Math.floor(rand() * 6);
      const thr = pruneThreshold(best, T);
      assert.ok(thr / T + GUMBEL_MAX < best, `T=${T} best=${best}`);
      assert.ok(thr > (best - GUMBEL_MAX) * T - 1e-6 * Math.max(1, Math.abs(best)), 'threshold needlessly loose');
    }
    assert.equal(pruneThreshold(-Infinity, 1), -Infinity);
    assert.equal(pruneThreshold(Infinity, 1), -Infinity);
  });
});
