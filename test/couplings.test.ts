import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SamplingSettings } from '../src/engine/types';
import { GUMBEL_MAX, STREAM_GUMBEL, gumbel, uniform } from '../src/engine/rng';
import { GREEDY_BELOW, argmaxLowestId, isGreedy } from '../src/engine/greedy';
import { Distribution } from '../src/engine/sampling';
import { GumbelSampler, WeightedMinHashSampler, makeSampler, pruneThreshold } from '../src/engine/couplings';
import {
  gumbelAgreement,
  gumbelAgreementNaive,
  totalVariation,
  wmhAgreement,
  wmhLowerBound,
} from '../src/engine/couplingTheory';
import {
  acceptProbability,
  sampleInverseCdf,
  sampleResidual,
  standardDraft,
  standardTarget,
  standardVerify,
} from '../src/engine/standard';

// ---------------------------------------------------------------------------------------
// Helpers (independent of the code under test).

/** mulberry32: a small deterministic PRNG for building test inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Upper 0.1% quantile of chi-square(df), Wilson–Hilferty approximation (z = 3.0902). */
function chiSquareCritical001(df: number): number {
  const z = 3.0902;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/**
 * Pearson chi-square of counts against probs (N draws). Categories with probability 0 must
 * have no draws at all. Returns [statistic, degrees of freedom].
 */
function chiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>, draws: number): [number, number] {
  let chi = 0;
  let cats = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) {
      assert.equal(counts[i], 0, `token ${i} has probability 0 but was drawn ${counts[i]} times`);
      continue;
    }
    const e = draws * probs[i];
    chi += (counts[i] - e) ** 2 / e;
    cats++;
  }
  return [chi, cats - 1];
}

function assertFollows(label: string, counts: ArrayLike<number>, probs: ArrayLike<number>, draws: number): void {
  const [chi, df] = chiSquare(counts, probs, draws);
  const crit = chiSquareCritical001(df);
  assert.ok(chi < crit, `${label}: chi-square ${chi.toFixed(1)} >= ${crit.toFixed(1)} (df ${df})`);
}

function assertDoesNotFollow(label: string, counts: ArrayLike<number>, probs: ArrayLike<number>, draws: number): void {
  let chi = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) {
      if (counts[i] > 0) return; // impossible draws: clearly not following
      continue;
    }
    chi += (counts[i] - draws * probs[i]) ** 2 / (draws * probs[i]);
  }
  assert.ok(chi > chiSquareCritical001(probs.length - 1), `${label}: the chi-square test has no power here`);
}

/**
 * Reference for the sampling semantics, by a full sort of the vocabulary. Uses the same
 * floating-point formulas (weights exp((l − max)·(1/T)), Z summed in id order, prefix sums in
 * sorted order) so that the kept set must match exactly.
 */
function naiveKept(logits: Float32Array, vocabLimit: number, s: SamplingSettings): { ids: number[]; probs: number[] } {
  const n = Math.min(vocabLimit, logits.length);
  let top = 0;
  for (let i = 1; i < n; i++) if (logits[i] > logits[top]) top = i;
  if (s.temperature === 0) return { ids: [top], probs: [1] };
  const maxL = logits[top];
  const invT = 1 / s.temperature;
  const w = new Float64Array(n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    w[i] = Math.exp((logits[i] - maxL) * invT);
    z += w[i];
  }
  let order = Array.from({ length: n }, (_, i) => i).sort((a, b) => w[b] - w[a] || a - b);
  let mass = z;
  if (s.topK > 0 && s.topK < n) {
    order = order.slice(0, s.topK);
    mass = 0;
    for (const i of order) mass += w[i];
  }
  if (s.topP < 1) {
    const target = s.topP * mass;
    let cum = 0;
    let j = 0;
    for (; j < order.length - 1; j++) {
      cum += w[order[j]];
      if (cum >= target) break;
    }
    order = order.slice(0, j + 1);
  }
  let zk = 0;
  for (const i of order) zk += w[i];
  return { ids: order, probs: order.map((i) => w[i] / zk) };
}

/** Dense kept distribution from naiveKept, length n. */
function naiveDense(logits: Float32Array, vocabLimit: number, s: SamplingSettings): Float64Array {
  const k = naiveKept(logits, vocabLimit, s);
  const out = new Float64Array(Math.min(vocabLimit, logits.length));
  k.ids.forEach((id, j) => (out[id] = k.probs[j]));
  return out;
}

/** The definition of Gumbel-max sampling, no pruning: argmax over `ids` of l/T + G, ties to the lowest id. */
function gumbelFullScan(logits: Float32Array, ids: ArrayLike<number>, T: number, seed: number, pos: number): number {
  let best = -Infinity;
  let bestId = -1;
  for (let j = 0; j < ids.length; j++) {
    const i = ids[j];
    const s = logits[i] / T + gumbel(uniform(seed, pos, i, STREAM_GUMBEL));
    if (bestId < 0 || s > best || (s === best && i < bestId)) {
      best = s;
      bestId = i;
    }
  }
  return bestId;
}

/** LM-shaped logits: a Gaussian bulk plus a few strong candidates. */
function lmLogits(n: number, seed: number): Float32Array {
  const rand = prng(seed);
  const l = new Float32Array(n);
  for (let i = 0; i < n; i++) l[i] = 2 * normal(rand) - 4;
  for (let j = 0; j < 12; j++) l[Math.floor(rand() * n)] = 6 + 6 * rand();
  return l;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

const plain = (temperature: number): SamplingSettings => ({ temperature, topK: 0, topP: 1 });
const SEED = 20240807;
const N = 20000;

// Eight-token test distributions (T = 1: the logits are log-probabilities).
const LOGITS8 = new Float32Array([2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, 0.3]);
const P8 = new Float32Array([0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02].map(Math.log));
const Q8 = new Float32Array([0.05, 0.1, 0.3, 0.05, 0.2, 0.1, 0.15, 0.05].map(Math.log));

function drawCounts(sampler: { sample(l: Float32Array, pos: number): number }, logits: Float32Array, draws: number): Float64Array {
  const counts = new Float64Array(logits.length);
  for (let pos = 0; pos < draws; pos++) counts[sampler.sample(logits, pos)]++;
  return counts;
}

// ---------------------------------------------------------------------------------------

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

describe('exact pruning of Gumbel-max', () => {
  const V = 151936;
  const shapes: Array<[string, Float32Array]> = [['lm', lmLogits(V, 1)], ['lm2', lmLogits(V, 2)]];
  {
    const rand = prng(4);
    const ties = new Float32Array(V).map(() => Math.floor(rand() * 4)); // many exact ties
    for (let i = 0; i < V; i += 997) ties[i] = -Infinity;
    shapes.push(['integer ties', ties]);
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
          if (name !== 'integer ties' && T === 0.2) assert.ok(sampler.hashed < 1000, `hashed ${sampler.hashed}`);
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
