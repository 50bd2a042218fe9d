/**
 * The statistics of the gumbel and wmh couplings: each samples its own model's kept, renormalised softmax exactly
 * (chi-square, with a power check), is a pure function of (seed, position), and two models sharing the randomness
 * agree at the rate the closed forms (src/engine/decode/couplingTheory.ts) give; the closed forms themselves against their
 * definitions and bounds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SamplingSettings } from '../../../src/engine/decode/types';
import { Distribution } from '../../../src/engine/decode/sampling';
import { makeSampler } from '../../../src/engine/decode/couplings/registry';
import {
  gumbelAgreement,
  gumbelAgreementNaive,
  totalVariation,
  wmhAgreement,
  wmhLowerBound,
} from '../../../src/engine/decode/couplingTheory';
import { LOGITS8, P8, Q8, SEED, normal, plain, prng } from '../../helpers/samplingInputs';
import { N, assertDoesNotFollow, assertFollows, drawCounts } from '../../helpers/samplingStats';
import { naiveDense } from '../../helpers/samplingReference';

describe('marginals: each coupling samples its own model exactly', () => {
  const settingsList: SamplingSettings[] = [
    plain(1),
    plain(0.7),
    { temperature: 1, topK: 4, topP: 1 },
    { temperature: 1, topK: 0, topP: 0.8 },
    { temperature: 0.7, topK: 6, topP: 0.9 },
  ];
  for (const kind of ['gumbel', 'wmh'] as const) {
    for (const s of settingsList) {
      test(`${kind} ${JSON.stringify(s)}: chi-square against the kept, renormalised softmax`, () => {
        const sampler = makeSampler(kind, s, SEED, 8);
        const counts = drawCounts(sampler, LOGITS8, N);
        const want = naiveDense(LOGITS8, 8, s);
        assertFollows(`${kind} ${JSON.stringify(s)}`, counts, want, N);
        if (s.topK === 0 && s.topP === 1) {
          // Power check: the same draws are rejected against the distribution at another T.
          assertDoesNotFollow(`${kind} vs wrong T`, counts, naiveDense(LOGITS8, 8, plain(s.temperature * 1.3)), N);
        } else {
          assertDoesNotFollow(`${kind} vs untruncated`, counts, naiveDense(LOGITS8, 8, plain(s.temperature)), N);
        }
      });
    }
  }

  test('padding beyond vocabLimit is never sampled', () => {
    const wide = new Float32Array([...LOGITS8, 40, 40]);
    for (const kind of ['gumbel', 'wmh'] as const) {
      const sampler = makeSampler(kind, plain(1), SEED, 8);
      for (let pos = 0; pos < 2000; pos++) assert.ok(sampler.sample(wide, pos) < 8);
    }
  });

  test('the same (seed, position) always gives the same token; other seeds differ', () => {
    for (const kind of ['gumbel', 'wmh'] as const) {
      const a = makeSampler(kind, plain(1), SEED, 8);
      const b = makeSampler(kind, plain(1), SEED, 8);
      const c = makeSampler(kind, plain(1), SEED + 2 ** 32, 8);
      let differ = 0;
      for (let pos = 0; pos < 500; pos++) {
        const x = a.sample(LOGITS8, pos);
        assert.equal(b.sample(LOGITS8, pos), x);
        assert.equal(a.sample(LOGITS8, pos), x, 'not a pure function of (seed, position)');
        if (c.sample(LOGITS8, pos) !== x) differ++;
      }
      assert.ok(differ > 200, `${kind}: seeds 2^32 apart agree too often (${500 - differ}/500)`);
    }
  });
});

describe('agreement Pr[a = b] of two models sharing the randomness', () => {
  const p = new Float64Array(8);
  const q = new Float64Array(8);
  {
    // The distributions the samplers actually use: softmax of the float32 logits.
    const dp = new Distribution(8);
    dp.fromLogits(P8, plain(1));
    dp.fullProbs(p);
    const dq = new Distribution(8);
    dq.fromLogits(Q8, plain(1));
    dq.fullProbs(q);
  }
  const rG = gumbelAgreement(p, q);
  const rW = wmhAgreement(p, q);
  const sigma = (r: number): number => Math.sqrt((r * (1 - r)) / N);

  test('the closed forms are far enough apart for the measurement to tell them apart', () => {
    assert.ok(rG - rW > 8 * sigma(rG), `gumbel ${rG} vs wmh ${rW}`);
  });

  for (const kind of ['gumbel', 'wmh'] as const) {
    test(`${kind}: measured rate matches the closed form within 4σ`, () => {
      const a = makeSampler(kind, plain(1), SEED, 8);
      const b = makeSampler(kind, plain(1), SEED, 8);
      let agree = 0;
      for (let pos = 0; pos < N; pos++) if (a.sample(P8, pos) === b.sample(Q8, pos)) agree++;
      const measured = agree / N;
      const r = kind === 'gumbel' ? rG : rW;
      assert.ok(
        Math.abs(measured - r) <= 4 * sigma(r),
        `${kind}: measured ${measured.toFixed(4)}, closed form ${r.toFixed(4)} (σ ${sigma(r).toFixed(4)})`,
      );
    });
  }
});

describe('closed forms', () => {
  test('O(n log n) Gumbel agreement equals the O(n²) definition', () => {
    const rand = prng(5);
    for (let t = 0; t < 200; t++) {
      const n = 2 + Math.floor(rand() * 40);
      const p = new Float64Array(n).map(() => (rand() < 0.2 ? 0 : Math.exp(2 * normal(rand))));
      const q = new Float64Array(n).map(() => (rand() < 0.2 ? 0 : Math.exp(2 * normal(rand))));
      p[0] += 1; // at least one positive entry each
      q[n - 1] += 1;
      if (t % 10 === 0) q.set(p); // ratio ties
      const fast = gumbelAgreement(p, q);
      const slow = gumbelAgreementNaive(p, q);
      assert.ok(Math.abs(fast - slow) < 1e-12, `t=${t}: ${fast} vs ${slow}`);
    }
    assert.ok(Math.abs(gumbelAgreement([1, 2, 3], [1, 2, 3]) - 1) < 1e-15);
    assert.equal(gumbelAgreement([1, 0], [0, 1]), 0);
    assert.ok(Math.abs(wmhAgreement([1, 2, 3], [2, 4, 6]) - 1) < 1e-15);
    assert.equal(wmhAgreement([1, 0], [0, 1]), 0);
  });

  test('Gumbel ≥ WMH, both ≤ 1 − TV, WMH ≥ (1 − TV)/(1 + TV) on 300 random pairs', () => {
    const rand = prng(9);
    const eps = 1e-12;
    for (let t = 0; t < 300; t++) {
      const n = 2 + Math.floor(rand() * 60);
      const scale = 0.2 + 3 * rand(); // from near-uniform to peaked
      const p = new Float64Array(n).map(() => Math.exp(scale * normal(rand)));
      const q = new Float64Array(n).map(() => Math.exp(scale * normal(rand)));
      if (t % 3 === 0) for (let i = 0; i < n; i++) if (rand() < 0.3) p[i] = 0;
      p[0] += 1e-3;
      const tv = totalVariation(p, q);
      const g = gumbelAgreement(p, q);
      const w = wmhAgreement(p, q);
      assert.ok(g >= w - eps, `t=${t}: gumbel ${g} < wmh ${w}`);
      assert.ok(g <= 1 - tv + eps, `t=${t}: gumbel ${g} > 1 - TV ${1 - tv}`);
      assert.ok(w <= 1 - tv + eps, `t=${t}: wmh ${w} > 1 - TV ${1 - tv}`);
      assert.ok(w >= wmhLowerBound(p, q) - eps, `t=${t}: wmh ${w} < (1-TV)/(1+TV)`);
    }
  });
});
