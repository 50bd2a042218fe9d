/**
 * Inputs for the sampling and coupling tests, built independently of the code under test: a small seeded PRNG,
 * LM-shaped logits, eight-token distributions, and the plain (untruncated) sampling settings.
 */
import { mulberry32 } from '../../src/cli/prompts';
import type { SamplingSettings } from '../../src/engine/decode/types';

/** mulberry32: a small deterministic PRNG for building test inputs. */
export const prng = mulberry32;

/** A standard normal draw (Box–Muller). */
export function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** LM-shaped logits: a Gaussian bulk plus a few strong candidates. */
export function lmLogits(n: number, seed: number): Float32Array {
  const rand = prng(seed);
  const l = new Float32Array(n);
  for (let i = 0; i < n; i++) l[i] = 2 * normal(rand) - 4;
  for (let j = 0; j < 12; j++) l[Math.floor(rand() * n)] = 6 + 6 * rand();
  return l;
}

/** 0, 1, …, n − 1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Sampling settings with no truncation (top-k and top-p off) at temperature T. */
export const plain = (temperature: number): SamplingSettings => ({ temperature, topK: 0, topP: 1 });
/** The seed of the public randomness in these tests. */
export const SEED = 20240807;

// Eight-token test distributions (T = 1: the logits are log-probabilities).
export const LOGITS8 = new Float32Array([2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, 0.3]);
export const P8 = new Float32Array([0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02].map(Math.log));
export const Q8 = new Float32Array([0.05, 0.1, 0.3, 0.05, 0.2, 0.1, 0.15, 0.05].map(Math.log));
