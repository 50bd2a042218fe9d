/**
 * Closed forms for the agreement probability Pr[a = b] of two models sampling with shared
 * public randomness and no communication (arXiv 2408.07978; derivations in
 * shared/notes/paper.md), and the bounds they are compared with. For tests and benchmarks:
 * these allocate and are not meant for the per-token path.
 *
 * p and q are dense non-negative weight vectors over the same ids; they are normalised here,
 * so unnormalised weights are fine. Only the first n entries are read (default: the shorter
 * length).
 */

type Vec = ArrayLike<number>;

function len(p: Vec, q: Vec, n?: number): number {
  return n ?? Math.min(p.length, q.length);
}

function sum(p: Vec, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += p[i];
  if (!(s > 0)) throw new RangeError('distribution with no positive mass');
  return s;
}

/** Total variation distance ½ Σ |p − q| of the normalised vectors. */
export function totalVariation(p: Vec, q: Vec, n?: number): number {
  const m = len(p, q, n);
  const sp = 1 / sum(p, m);
  const sq = 1 / sum(q, m);
  let tv = 0;
  for (let i = 0; i < m; i++) tv += Math.abs(p[i] * sp - q[i] * sq);
  return tv / 2;
}

/** 1 − TV: the agreement of the optimal coupling (standard speculative sampling's acceptance). */
export function optimalAgreement(p: Vec, q: Vec, n?: number): number {
  return 1 - totalVariation(p, q, n);
}

/** (1 − TV)/(1 + TV): Weighted MinHash's worst-case guarantee (Bavarian et al. 2020). */
export function wmhLowerBound(p: Vec, q: Vec, n?: number): number {
  const tv = totalVariation(p, q, n);
  return (1 - tv) / (1 + tv);
}

/**
 * Weighted MinHash (dart throwing) agreement:
 *   Pr[a = b] = (Σ min(p, q) + Σ (p − q)⁺·q + Σ (q − p)⁺·p) / Σ max(p, q).
 * (The first dart under max(p, q) lands on k with probability max_k / Σ max; both accept it
 * with probability min_k / max_k; otherwise only one does and the other's fresh, independent
 * sample matches k with its own probability.)
 */
export function wmhAgreement(p: Vec, q: Vec, n?: number): number {
  const m = len(p, q, n);
  const sp = 1 / sum(p, m);
  const sq = 1 / sum(q, m);
  let num = 0;
  let den = 0;
  for (let i = 0; i < m; i++) {
    const a = p[i] * sp;
    const b = q[i] * sq;
    if (a >= b) {
      num += b + (a - b) * b;
      den += a;
    } else {
      num += a + (b - a) * a;
      den += b;
    }
  }
  return num / den;
}

/**
 * Gumbel-max agreement, the "probability Jaccard":
 *   Pr[a = b] = Σ_{i: p_i, q_i > 0} 1 / Σ_j max(p_j / p_i, q_j / q_i).
 * O(n log n): with r_j = p_j / q_j, max(p_j/p_i, q_j/q_i) = p_j/p_i when r_j ≥ r_i and q_j/q_i
 * otherwise, so Σ_j = (1/p_i) Σ_{r_j ≥ r_i} p_j + (1/q_i) Σ_{r_j < r_i} q_j: sort by r and use
 * prefix sums (ties r_j = r_i may go to either side; both terms are equal there).
 * Scale-invariant in p and q separately.
 */
export function gumbelAgreement(p: Vec, q: Vec, n?: number): number {
  const m = len(p, q, n);
  const idx: number[] = [];
  const ratio = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    if (p[i] > 0 || q[i] > 0) {
      idx.push(i);
      ratio[i] = q[i] > 0 ? p[i] / q[i] : Infinity;
    }
  }
  idx.sort((a, b) => ratio[a] - ratio[b] || a - b);
  const k = idx.length;
  // suffixP[s] = Σ_{t ≥ s} p[idx[t]]; prefix sums of q are accumulated per tie group below.
  const suffixP = new Float64Array(k + 1);
  for (let s = k - 1; s >= 0; s--) suffixP[s] = suffixP[s + 1] + p[idx[s]];
  let qBefore = 0; // Σ q over ratios strictly below the current group
  let total = 0;
  let s = 0;
  while (s < k) {
    let e = s;
    while (e < k && ratio[idx[e]] === ratio[idx[s]]) e++;
    const pFrom = suffixP[s]; // Σ p over ratios ≥ the group's
    for (let t = s; t < e; t++) {
      const i = idx[t];
      if (p[i] > 0 && q[i] > 0) total += 1 / (pFrom / p[i] + qBefore / q[i]);
    }
    for (let t = s; t < e; t++) qBefore += q[idx[t]];
    s = e;
  }
  return total;
}

/** The same Gumbel agreement by the O(n²) definition (reference for tests; small n only). */
export function gumbelAgreementNaive(p: Vec, q: Vec, n?: number): number {
  const m = len(p, q, n);
  let total = 0;
  for (let i = 0; i < m; i++) {
    if (!(p[i] > 0 && q[i] > 0)) continue;
    let d = 0;
    for (let j = 0; j < m; j++) d += Math.max(p[j] / p[i], q[j] / q[i]);
    total += 1 / d;
  }
  return total;
}
