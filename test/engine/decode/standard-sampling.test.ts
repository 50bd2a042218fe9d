/**
 * Standard speculative sampling (Leviathan et al. 2023, src/engine/decode/couplings/standard.ts): drafts follow q, the output and the
 * bonus draws follow p, acceptance is 1 − TV; and its helpers (inverse CDF, acceptance probability, residual).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { uniform } from '../../../src/engine/decode/rng';
import { totalVariation } from '../../../src/engine/decode/couplingTheory';
import {
  acceptProbability,
  sampleInverseCdf,
  sampleResidual,
  standardDraft,
  standardTarget,
  standardVerify,
} from '../../../src/engine/decode/couplings/standard';
import { SEED } from '../../helpers/samplingInputs';
import { N, assertDoesNotFollow, assertFollows } from '../../helpers/samplingStats';

describe('standard speculative sampling (Leviathan et al. 2023)', () => {
  const p = new Float64Array([0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02]);
  const q = new Float64Array([0.05, 0.1, 0.3, 0.05, 0.2, 0.1, 0.15, 0.05]);

  test('draft from q, accept min(1, p/q), residual on rejection: the output follows p', () => {
    const out = new Float64Array(8);
    const drafts = new Float64Array(8);
    let accepted = 0;
    for (let t = 0; t < N; t++) {
      const d = standardDraft(q, 8, SEED, t);
      drafts[d]++;
      const y = standardVerify(p, q, 8, d, SEED, t);
      if (y === d) accepted++;
      out[y]++;
    }
    assertFollows('standard output', out, p, N);
    assertFollows('drafts', drafts, q, N);
    assertDoesNotFollow('drafts vs target', drafts, p, N);
    const alpha = 1 - totalVariation(p, q);
    const sd = Math.sqrt((alpha * (1 - alpha)) / N);
    assert.ok(Math.abs(accepted / N - alpha) <= 4 * sd, `acceptance ${accepted / N} vs 1 - TV ${alpha}`);
  });

  test('bonus draws follow p', () => {
    const out = new Float64Array(8);
    for (let t = 0; t < N; t++) out[standardTarget(p, 8, SEED, t)]++;
    assertFollows('bonus', out, p, N);
  });

  test('helpers: inverse CDF, acceptance, residual', () => {
    const w = new Float32Array([0, 2, 0, 1, 0]);
    assert.equal(sampleInverseCdf(w, 5, 0), 1);
    assert.equal(sampleInverseCdf(w, 5, 0.66), 1);
    assert.equal(sampleInverseCdf(w, 5, 0.67), 3);
    assert.equal(sampleInverseCdf(w, 5, 1), 3, 'falling off the end returns the last positive entry');
    assert.throws(() => sampleInverseCdf(new Float32Array(3), 3, 0.5), RangeError);
    assert.equal(acceptProbability(0.2, 0.4), 0.5);
    assert.equal(acceptProbability(0.5, 0.4), 1);
    assert.equal(acceptProbability(0, 0.4), 0);
    assert.equal(acceptProbability(0.1, 0), 1);
    const pp = new Float64Array([0.5, 0.3, 0.2]);
    const qq = new Float64Array([0.2, 0.3, 0.5]);
    for (let i = 0; i < 50; i++) assert.equal(sampleResidual(pp, qq, 3, i / 50), 0, 'only id 0 has p > q');
    assert.equal(sampleResidual(pp, pp, 3, 0.9), 2, 'zero residual: samples p');
    const counts = new Float64Array(4);
    const p4 = new Float64Array([0.4, 0.4, 0.1, 0.1]);
    const q4 = new Float64Array([0.1, 0.2, 0.6, 0.1]);
    for (let t = 0; t < 5000; t++) counts[sampleResidual(p4, q4, 4, uniform(1, t, 0, 5))]++;
    assertFollows('residual', counts, [0.6, 0.4, 0, 0], 5000); // norm(max(0, p − q)) = (0.3, 0.2)/0.5
  });
});
