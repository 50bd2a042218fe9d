/**
 * Seeds. A completion is a function of (target, prompt, seed, coupling, sampling settings) — not of the drafter —
 * so the seed is what a user needs to reproduce one. The seed stays fixed (the `lockstep.seed` setting) unless the
 * user asks for another with Regenerate with Seed or Next Seed; that choice lasts for the session and is cleared
 * when the setting itself changes. No `vscode` import.
 */
import { MAX_SEED } from './settings';

export type SeedParse = { ok: true; seed: number } | { ok: false; message: string };

/** A seed typed by the user: a decimal integer from 0 to 2^53−1 (surrounding spaces and `_`/`,` separators allowed). */
export function parseSeed(input: string): SeedParse {
  const t = input.trim().replace(/[_,]/g, '');
  if (t === '') return { ok: false, message: 'enter a seed: an integer from 0 to 9007199254740991' };
  if (!/^\d+$/.test(t)) return { ok: false, message: `"${input.trim()}" is not a whole number: a seed is an integer from 0 to 9007199254740991` };
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n > MAX_SEED) return { ok: false, message: 'too large: a seed is at most 9007199254740991 (2^53−1)' };
  return { ok: true, seed: n };
}

/** A fresh seed below 2^32 (short enough to read out and type back); `rand` returns [0, 1). */
export function randomSeed(rand: () => number = Math.random): number {
  const r = rand();
  const x = Number.isFinite(r) && r >= 0 && r < 1 ? r : 0;
  return Math.floor(x * 2 ** 32);
}

/** seed + 1, wrapping to 0 after the largest seed. */
export function nextSeed(seed: number): number {
  return seed >= MAX_SEED || !Number.isSafeInteger(seed) || seed < 0 ? 0 : seed + 1;
}

/** seed − 1, wrapping to the largest seed below 0 (the seed Next Seed came from). */
export function previousSeed(seed: number): number {
  return !Number.isSafeInteger(seed) || seed <= 0 || seed > MAX_SEED ? MAX_SEED : seed - 1;
}

/** Accepts a seed given as a command argument (number or numeric string); undefined otherwise. */
export function seedFromArgument(arg: unknown): number | undefined {
  if (typeof arg === 'number') return Number.isSafeInteger(arg) && arg >= 0 ? arg : undefined;
  if (typeof arg === 'string') {
    const p = parseSeed(arg);
    return p.ok ? p.seed : undefined;
  }
  return undefined;
}

/** The seed in use: the setting's, unless the user chose another in this session. */
export class SeedState {
  private override: number | undefined;

  constructor(private settingSeed: number) {}

  get current(): number {
    return this.override ?? this.settingSeed;
  }

  /** True when a command chose the seed (not the setting). */
  get overridden(): boolean {
    return this.override !== undefined;
  }

  set(seed: number): void {
    this.override = seed;
  }

  next(): number {
    this.override = nextSeed(this.current);
    return this.override;
  }

  previous(): number {
    this.override = previousSeed(this.current);
    return this.override;
  }

  /** A new value of the setting wins over a session choice; the same value leaves the choice alone. */
  updateSetting(seed: number): void {
    if (seed !== this.settingSeed) {
      this.settingSeed = seed;
      this.override = undefined;
    }
  }
}
