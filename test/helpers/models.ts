/** Paths of the project's shipped small models, and helpers to feed them, for tests. */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { CausalLM } from '../../src/engine/runtime/model';

export const ROOT = path.join(__dirname, '..', '..', '..');
export const TARGET_DIR = path.join(ROOT, 'models', 'lockstep-target');
export const DRAFTER_A_DIR = path.join(ROOT, 'models', 'lockstep-drafter-a');
export const DRAFTER_B_DIR = path.join(ROOT, 'models', 'lockstep-drafter-b');
export const SHIPPED = [TARGET_DIR, DRAFTER_A_DIR, DRAFTER_B_DIR];

export function rowsEqualBitwise(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** `n` token ids from a small LCG (not the engine's randomness), below vocab − 4. */
export function seededIds(n: number, vocab: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % (vocab - 4);
  });
}

/** Every row's logits for `ids`, fed from an empty cache in calls of the given sizes (cycled). */
export async function rowsByGrouping(m: CausalLM, ids: number[], sizes: number[]): Promise<Float32Array[]> {
  m.reset();
  const rows: Float32Array[] = [];
  for (let p = 0, g = 0; p < ids.length; g++) {
    const n = Math.min(sizes[g % sizes.length], ids.length - p);
    const out = await m.forward(ids.slice(p, p + n));
    for (let i = 0; i < n; i++) rows.push(out.row(i).slice());
    p += n;
  }
  return rows;
}

/**
 * Asserts that feeding `ids` in calls of each grouping gives, row for row, the same bits as `reference` (the rows
 * of one call): the exactness rule the target's call shape must keep. Returns nothing; fails naming the grouping.
 */
export async function assertGroupingsExact(m: CausalLM, ids: number[], reference: Float32Array[], groupings: number[][], label = ''): Promise<void> {
  for (const sizes of groupings) {
    const rows = await rowsByGrouping(m, ids, sizes);
    const same = rows.filter((r, i) => rowsEqualBitwise(r, reference[i])).length;
    assert.equal(same, ids.length, `${label}grouping ${sizes.join(',')}: ${same}/${ids.length} rows bitwise equal`);
  }
}
