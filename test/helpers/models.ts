/** Paths of the project's shipped small models, for tests. */
import * as path from 'node:path';

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
