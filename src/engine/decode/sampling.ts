/**
 * Temperature / top-k / top-p applied to one model's logits row, without allocating per call.
 *
 * Semantics (each model applies them to its own row; the result never depends on another
 * model):
 *  - Candidates are the ids < min(vocabLimit, row length): a row may be wider than the real
 *    vocabulary (padded embedding matrices), and the padding must never be sampled.
 *  - T < GREEDY_BELOW (1e-6; T = 0 included): greedy, the argmax with ties to the lowest id (a single kept token).
 *  - T ≥ GREEDY_BELOW: weights w_i = exp((l_i − max_j l_j) / T), probabilities w_i / Σ w (softmax(l / T)).
 *    The candidates are totally ordered by (probability desc, id asc).
 *  - top-k (k > 0 and k < candidates): keep the first k of that order.
 *  - top-p (p < 1): then keep the smallest prefix of the order whose mass reaches p of the
 *    mass still kept (renormalised after top-k, as in Hugging Face's warper chain); at least
 *    one token is always kept. "Reaches" is Σ_prefix w ≥ p · Σ_kept w in binary64.
 *  - The kept tokens are renormalised.
 * NaN logits get weight 0 (like −∞). If the largest logit is ±∞ the row is treated as greedy.
 *
 * The nucleus is found without sorting the vocabulary (rows go up to 151 936 ids): the pass
 * that computes the weights also fills a histogram over 64 buckets of width one octave
 * (bucket b holds w ∈ (2^-(b+1), 2^-b], the last one everything smaller), with each bucket's
 * count, mass and smallest weight. The smallest bucket prefix with enough count (top-k) or
 * mass (top-p) gives a weight threshold; the ids with w ≥ threshold are a prefix of the
 * global order containing the answer, so only they are gathered and sorted (a quickselect
 * first when top-k needs fewer than were gathered).
 */

import { argmaxLowestId, isGreedy } from './greedy';
import type { SamplingSettings } from './types';


/** Throws a RangeError unless the settings are usable (T ≥ 0 finite, k ≥ 0 integer, 0 ≤ p ≤ 1). */
export function validateSettings(s: SamplingSettings): void {
  if (!(s.temperature >= 0) || !Number.isFinite(s.temperature)) {
    throw new RangeError(`temperature must be a finite number >= 0, got ${s.temperature}`);
  }
  if (!Number.isInteger(s.topK) || s.topK < 0) {
    throw new RangeError(`topK must be an integer >= 0 (0 = off), got ${s.topK}`);
  }
  if (!(s.topP >= 0 && s.topP <= 1)) {
    throw new RangeError(`topP must be in [0, 1] (1 = off), got ${s.topP}`);
  }
}

const NUM_BUCKETS = 64;
const INV_LN2 = 1 / Math.LN2;
const MODE_GREEDY = 0;
const MODE_FULL = 1;
const MODE_TRUNCATED = 2;

/** True when id a precedes id b in the order (weight desc, id asc). */
function before(w: Float64Array, a: number, b: number): boolean {
  const wa = w[a];
  const wb = w[b];
  return wa > wb || (wa === wb && a < b);
}

/** Lomuto partition of ids[lo..hi] (inclusive) around a median-of-three pivot; returns its slot. */
function partition(ids: Int32Array, lo: number, hi: number, w: Float64Array): number {
  const mid = (lo + hi) >>> 1;
  let t: number;
  if (before(w, ids[mid], ids[lo])) { t = ids[mid]; ids[mid] = ids[lo]; ids[lo] = t; }
  if (before(w, ids[hi], ids[lo])) { t = ids[hi]; ids[hi] = ids[lo]; ids[lo] = t; }
  if (before(w, ids[mid], ids[hi])) { t = ids[mid]; ids[mid] = ids[hi]; ids[hi] = t; }
  const pivot = ids[hi];
  let store = lo;
  for (let i = lo; i < hi; i++) {
    if (before(w, ids[i], pivot)) {
      t = ids[i]; ids[i] = ids[store]; ids[store] = t;
      store++;
    }
  }
  ids[hi] = ids[store];
  ids[store] = pivot;
  return store;
}

function insertionSort(ids: Int32Array, lo: number, hi: number, w: Float64Array): void {
  for (let i = lo + 1; i <= hi; i++) {
    const x = ids[i];
    let j = i - 1;
    while (j >= lo && before(w, x, ids[j])) {
      ids[j + 1] = ids[j];
      j--;
    }
    ids[j + 1] = x;
  }
}

/** Sorts ids[0..len) by (w desc, id asc). Keys are distinct (ids break ties), so quicksort is safe. */
function sortIds(ids: Int32Array, len: number, w: Float64Array, stack: Int32Array): void {
  if (len < 2) return;
  let sp = 0;
  stack[sp++] = 0;
  stack[sp++] = len - 1;
  while (sp > 0) {
    let hi = stack[--sp];
    let lo = stack[--sp];
    while (hi - lo > 16) {
      const p = partition(ids, lo, hi, w);
      // Push the larger side and loop on the smaller: the stack never exceeds 2·log2(len).
      if (p - lo < hi - p) {
        stack[sp++] = p + 1; stack[sp++] = hi;
        hi = p - 1;
      } else {
        stack[sp++] = lo; stack[sp++] = p - 1;
        lo = p + 1;
      }
    }
    insertionSort(ids, lo, hi, w);
  }
}

/** Rearranges ids[0..len) so that ids[0..k) are the first k in (w desc, id asc) order (unsorted). */
function selectFirst(ids: Int32Array, len: number, k: number, w: Float64Array): void {
  let lo = 0;
  let hi = len - 1;
  const target = k - 1;
  while (hi > lo) {
    const p = partition(ids, lo, hi, w);
    if (p === target) return;
    if (p < target) lo = p + 1;
    else hi = p - 1;
  }
}

/**
 * One model's sampling distribution after temperature / top-k / top-p, with scratch owned by
 * the instance (sized to the candidates, grown only when a longer row arrives).
 * Call fromLogits, then read size / ids / probs / prob(id) / maxProb / fullProbs.
 */
export class Distribution {
  readonly vocabLimit: number;

  private cap = 0;
  /** Unnormalised weights exp((l − max)/T) of every candidate (valid in modes FULL, TRUNCATED). */
  private w = new Float64Array(0);
  /** Kept ids in order (TRUNCATED, GREEDY); also the gather scratch. */
  private order = new Int32Array(0);
  /** 0, 1, 2, … : the kept list in mode FULL. */
  private identity = new Int32Array(0);
  private probsBuf = new Float32Array(0);
  private probsStale = false;

  private readonly bucketCount = new Float64Array(NUM_BUCKETS);
  private readonly bucketMass = new Float64Array(NUM_BUCKETS);
  private readonly bucketMin = new Float64Array(NUM_BUCKETS);
  private readonly stack = new Int32Array(128);

  private mode = MODE_GREEDY;
  private n = 0;
  private kept = 0;
  private invZ = 1;
  private cutW = 0;
  private cutId = 0;
  private top = 0;

  /** @param vocabLimit only ids below it are candidates (the real vocabulary size). */
  constructor(vocabLimit: number) {
    if (!Number.isInteger(vocabLimit) || vocabLimit <= 0) {
      throw new RangeError(`vocabLimit must be a positive integer, got ${vocabLimit}`);
    }
    this.vocabLimit = vocabLimit;
  }

  /** Number of kept tokens. */
  get size(): number {
    return this.kept;
  }

  /** Number of candidates of the last row: min(vocabLimit, row length). */
  get candidates(): number {
    return this.n;
  }

  /** The most probable kept token (lowest id among ties): the greedy choice. */
  get argmaxId(): number {
    return this.top;
  }

  /** Largest kept (renormalised) probability. */
  get maxProb(): number {
    return this.invZ; // the argmax has weight exp(0) = 1
  }

  /**
   * Kept ids, first `size` entries valid. With a top-k/top-p restriction (or greedy) they are in
   * the order (probability desc, id asc); without one all candidates are kept, in id order.
   * The array is scratch: it is overwritten by the next fromLogits.
   */
  get ids(): Int32Array {
    return this.mode === MODE_FULL ? this.identity : this.order;
  }

  /** Renormalised probabilities of `ids`, same order, first `size` entries valid (scratch). */
  get probs(): Float32Array {
    if (this.probsStale) {
      const w = this.w;
      const buf = this.probsBuf;
      const invZ = this.invZ;
      for (let i = 0; i < this.n; i++) buf[i] = w[i] * invZ;
      this.probsStale = false;
    }
    return this.probsBuf;
  }

  /** Renormalised probability of token id (0 outside the kept set). O(1). */
  prob(id: number): number {
    if (this.mode === MODE_FULL) return id < this.n ? this.w[id] * this.invZ : 0;
    if (this.mode === MODE_GREEDY) return id === this.top ? 1 : 0;
    if (id >= this.n) return 0;
    // Kept set = prefix of the order (w desc, id asc) ending at (cutW, cutId).
    const wi = this.w[id];
    return wi > this.cutW || (wi === this.cutW && id <= this.cutId) ? wi * this.invZ : 0;
  }

  /** Writes the dense renormalised distribution into out (zeros outside the kept set). */
  fullProbs(out: Float32Array | Float64Array): void {
    const n = this.n;
    if (out.length < n) throw new RangeError(`out has ${out.length} entries, need ${n}`);
    if (this.mode === MODE_FULL) {
      const w = this.w;
      const invZ = this.invZ;
      for (let i = 0; i < n; i++) out[i] = w[i] * invZ;
    } else {
      out.fill(0, 0, n);
      const ids = this.order;
      if (this.mode === MODE_GREEDY) {
        out[this.top] = 1;
      } else {
        for (let j = 0; j < this.kept; j++) out[ids[j]] = this.w[ids[j]] * this.invZ;
      }
    }
    out.fill(0, n);
  }

  /** Applies the settings to one logits row (see the file header for the exact semantics). */
  fromLogits(logits: Float32Array, s: SamplingSettings): void {
    validateSettings(s);
    const n = Math.min(this.vocabLimit, logits.length);
    if (n === 0) throw new RangeError('empty logits row');
    this.ensureCapacity(n);
    this.n = n;
    this.probsStale = false;
    const top = argmaxLowestId(logits, n);
    this.top = top;
    const maxL = logits[top];
    const T = s.temperature;
    if (isGreedy(T) || !Number.isFinite(maxL)) {
      this.mode = MODE_GREEDY;
      this.kept = 1;
      this.order[0] = top;
      this.probsBuf[0] = 1;
      this.invZ = 1;
      return;
    }
    const invT = 1 / T;
    const k = s.topK > 0 && s.topK < n ? s.topK : 0;
    const p = s.topP;
    const w = this.w;
    if (k === 0 && p >= 1) {
      let z = 0;
      for (let i = 0; i < n; i++) {
        let e = Math.exp((logits[i] - maxL) * invT);
        if (e !== e) e = 0; // NaN logit
        w[i] = e;
        z += e;
      }
      this.mode = MODE_FULL;
      this.kept = n;
      this.invZ = 1 / z;
      this.probsStale = true;
      return;
    }
    this.truncate(logits, n, maxL, invT, k, p);
  }

  private truncate(logits: Float32Array, n: number, maxL: number, invT: number, k: number, p: number): void {
    const w = this.w;
    const count = this.bucketCount;
    const mass = this.bucketMass;
    const minW = this.bucketMin;
    count.fill(0);
    mass.fill(0);
    minW.fill(Infinity);
    const lastEdge = (NUM_BUCKETS - 1) * Math.LN2;
    let z = 0;
    for (let i = 0; i < n; i++) {
      const d = (maxL - logits[i]) * invT; // ≥ 0; NaN for a NaN logit
      let e = Math.exp(-d);
      if (e !== e) e = 0;
      w[i] = e;
      z += e;
      const b = d < lastEdge ? (d * INV_LN2) | 0 : NUM_BUCKETS - 1;
      count[b] += 1;
      mass[b] += e;
      if (e < minW[b]) minW[b] = e;
    }
    const ids = this.order;
    let len: number;
    let zKept: number;
    if (k > 0) {
      let b = 0;
      let c = count[0];
      while (c < k && b < NUM_BUCKETS - 1) c += count[++b];
      const g = this.gather(w, n, this.thresholdThrough(b));
      if (g > k) selectFirst(ids, g, k, w);
      sortIds(ids, k, w, this.stack);
      len = k;
      zKept = 0;
      for (let j = 0; j < k; j++) zKept += w[ids[j]];
      if (p < 1) {
        const target = p * zKept;
        let cum = 0;
        let j = 0;
        while (j < k - 1) {
          cum += w[ids[j]];
          if (cum >= target) break;
          j++;
        }
        len = j + 1;
        zKept = 0;
        for (let i = 0; i < len; i++) zKept += w[ids[i]];
      }
    } else {
      const target = p * z;
      let b = 0;
      let m = mass[0];
      while (m < target && b < NUM_BUCKETS - 1) m += mass[++b];
      for (;;) {
        const g = this.gather(w, n, this.thresholdThrough(b));
        sortIds(ids, g, w, this.stack);
        let cum = 0;
        let j = 0;
        while (j < g) {
          cum += w[ids[j]];
          if (cum >= target) break;
          j++;
        }
        if (j < g) {
          len = j + 1;
          zKept = cum;
          break;
        }
        // The bucket sums reached the target but the gathered prefix fell short by rounding.
        if (b === NUM_BUCKETS - 1) {
          len = g;
          zKept = cum;
          break;
        }
        b++;
      }
    }
    this.mode = MODE_TRUNCATED;
    this.kept = len;
    this.invZ = 1 / zKept;
    this.cutId = ids[len - 1];
    this.cutW = w[this.cutId];
    const probs = this.probsBuf;
    for (let j = 0; j < len; j++) probs[j] = w[ids[j]] * this.invZ;
  }

  /** Smallest weight in buckets 0..b: every id with w ≥ it is a prefix of the order covering those buckets. */
  private thresholdThrough(b: number): number {
    let t = Infinity;
    for (let i = 0; i <= b; i++) if (this.bucketMin[i] < t) t = this.bucketMin[i];
    return t;
  }

  /** Writes the ids with w ≥ threshold into order[], in id order; returns their count. */
  private gather(w: Float64Array, n: number, threshold: number): number {
    const ids = this.order;
    let g = 0;
    for (let i = 0; i < n; i++) if (w[i] >= threshold) ids[g++] = i;
    return g;
  }

  private ensureCapacity(n: number): void {
    if (n <= this.cap) return;
    this.cap = n;
    this.w = new Float64Array(n);
    this.order = new Int32Array(n);
    this.probsBuf = new Float32Array(n);
    const identity = new Int32Array(n);
    for (let i = 0; i < n; i++) identity[i] = i;
    this.identity = identity;
  }
}
