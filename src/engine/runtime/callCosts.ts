/**
 * What a target call of k tokens costs against one, measured as the engine runs (an exponential moving average of
 * session.run per token count). At the real size a call of k tokens costs far less than k calls (the weights are
 * read once per call), and by how much decides how many drafts pay (Leviathan et al. 2023: expected tokens per call
 * over the call's cost). Unmeasured counts are interpolated between measured ones; with nothing measured a call of k
 * costs what one does (the old assumption).
 */
const MAX_K = 64;
const WEIGHT = 0.2;

export class CallCosts {
  private readonly seconds = new Float64Array(MAX_K + 1);

  /** A call that carried `tokens` real tokens took `seconds`. */
  record(tokens: number, seconds: number): void {
    if (tokens < 1 || tokens > MAX_K || !(seconds > 0)) return;
    const s = this.seconds[tokens];
    this.seconds[tokens] = s === 0 ? seconds : (1 - WEIGHT) * s + WEIGHT * seconds;
  }

  /** Measured (or interpolated) seconds of a call of k tokens; 0 when nothing is measured. */
  secondsFor(k: number): number {
    const kk = Math.max(1, Math.min(MAX_K, Math.round(k)));
    if (this.seconds[kk] > 0) return this.seconds[kk];
    let lo = kk - 1;
    while (lo >= 1 && this.seconds[lo] === 0) lo--;
    let hi = kk + 1;
    while (hi <= MAX_K && this.seconds[hi] === 0) hi++;
    const a = lo >= 1 ? this.seconds[lo] : 0;
    const b = hi <= MAX_K ? this.seconds[hi] : 0;
    if (a > 0 && b > 0) return a + ((b - a) * (kk - lo)) / (hi - lo);
    return a > 0 ? a : b;
  }

  /** T(k) / T(1): ≥ 1, 1 when unmeasured. */
  ratio(k: number): number {
    const one = this.secondsFor(1);
    const t = this.secondsFor(k);
    return one > 0 && t > 0 ? Math.max(1, t / one) : 1;
  }

  reset(): void {
    this.seconds.fill(0);
  }
}
