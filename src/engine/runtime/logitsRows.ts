/**
 * The logits rows a model call returns, as views of one buffer: the real (unpadded) rows only, float16 logits widened
 * into a buffer the model reuses (no vocabulary-sized allocation per call).
 */
import type * as ort from 'onnxruntime-node';
import { ModelDirError } from './modelDir';

/** Logits of the real (unpadded) rows of one call; `row(i)` is a view, valid until the next call. */
export interface LogitsRows {
  readonly count: number;
  readonly width: number;
  row(i: number): Float32Array;
}

/** The logits of rows skip … skip+n−1 of a call that fed `padded` tokens. */
export function logitsRows(t: ort.Tensor, skip: number, n: number, padded: number, scratch: { buffer: Float32Array }): LogitsRows {
  const dims = t.dims;
  const rows = dims[dims.length - 2];
  const width = dims[dims.length - 1];
  // Exports with num_logits_to_keep, or ones that return only the last row, return fewer rows than fed.
  const first = rows - padded + skip;
  let data: Float32Array;
  if (t.type === 'float32') data = t.data as Float32Array;
  else if (t.type === 'float16') data = halfToFloat(t.data as Uint16Array, scratch);
  else throw new ModelDirError(`unsupported logits type ${t.type}`);
  if (first < 0 && (n > 1 || skip > 0)) throw new ModelDirError(`model returned ${rows} logits rows for ${padded} tokens`);
  return {
    count: n,
    width,
    row(i: number): Float32Array {
      if (i < 0 || i >= n) throw new RangeError(`row ${i} of ${n}`);
      const r = first + i;
      return data.subarray(r * width, (r + 1) * width);
    },
  };
}

/** Every binary16 value widened to binary32 (exact), indexed by its 16 bits: a lookup instead of pow() per logit. */
let HALF_TABLE: Float32Array | undefined;

function halfTable(): Float32Array {
  if (HALF_TABLE) return HALF_TABLE;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    table[h] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  HALF_TABLE = table;
  return table;
}

/** Widens float16 logits into the model's reused buffer (no allocation per call once it is large enough). */
function halfToFloat(src: Uint16Array, scratch: { buffer: Float32Array }): Float32Array {
  if (scratch.buffer.length < src.length) scratch.buffer = new Float32Array(src.length);
  const out = scratch.buffer;
  const table = halfTable();
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
  return out.subarray(0, src.length);
}
