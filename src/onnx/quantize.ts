/**
 * Weight quantization in the layouts onnxruntime's kernels read:
 * - 4-bit blocks for com.microsoft MatMulNBits: for each output column n, its K inputs in blocks of `blockSize`;
 *   symmetric (no zero-point input, the kernel's default zero point is 8): q = clamp(round(w / s) + 8, 0, 15) with
 *   s = −(the block's value of largest magnitude) / 8, two values per byte, the even index in the low nibble.
 * - int8 per tensor for MatMulInteger / DequantizeLinear: s = max|w| / 127, q = round(w / s), zero point 0.
 */

export interface Q4Weights {
  /** [N, K / blockSize, blockSize / 2] */
  packed: Uint8Array;
  /** [N * K / blockSize] */
  scales: Float32Array;
}

/**
 * Quantizes a K × N matrix (row-major, as `x @ W`) or, with `columnsAreRows`, an N × K matrix (each output column
 * stored as a row, as an embedding table used as the tied head).
 */
export function quantizeQ4(w: Float32Array, k: number, n: number, blockSize: number, columnsAreRows = false): Q4Weights {
  if (k % blockSize !== 0 || blockSize % 2 !== 0) throw new Error(`K = ${k} is not a multiple of the block size ${blockSize}`);
  const blocks = k / blockSize;
  const packed = new Uint8Array(n * k / 2);
  const scales = new Float32Array(n * blocks);
  const col = new Float32Array(blockSize);
  for (let c = 0; c < n; c++) {
    for (let b = 0; b < blocks; b++) {
      let extreme = 0;
      for (let i = 0; i < blockSize; i++) {
        const r = b * blockSize + i;
        const v = columnsAreRows ? w[c * k + r] : w[r * n + c];
        col[i] = v;
        if (Math.abs(v) > Math.abs(extreme)) extreme = v;
      }
      const scale = Math.fround(-extreme / 8);
      scales[c * blocks + b] = scale;
      const inv = scale === 0 ? 0 : 1 / scale;
      const base = (c * blocks + b) * (blockSize / 2);
      for (let i = 0; i < blockSize; i += 2) {
        const lo = clamp(Math.round(col[i] * inv) + 8, 0, 15);
        const hi = clamp(Math.round(col[i + 1] * inv) + 8, 0, 15);
        packed[base + i / 2] = lo | (hi << 4);
      }
    }
  }
  return { packed, scales };
}

/** The values a Q4Weights stands for, as a K × N row-major matrix (for reference computations). */
export function dequantizeQ4(q: Q4Weights, k: number, n: number, blockSize: number): Float32Array {
  const blocks = k / blockSize;
  const w = new Float32Array(k * n);
  for (let c = 0; c < n; c++) {
    for (let r = 0; r < k; r++) {
      const byte = q.packed[(c * k + r) >> 1];
      const nib = r % 2 === 0 ? byte & 15 : byte >> 4;
      w[r * n + c] = (nib - 8) * q.scales[c * blocks + Math.floor(r / blockSize)];
    }
  }
  return w;
}

export interface Int8Weights {
  values: Int8Array;
  scale: number;
}

export function quantizeInt8(w: Float32Array): Int8Weights {
  let max = 0;
  for (let i = 0; i < w.length; i++) max = Math.max(max, Math.abs(w[i]));
  const scale = Math.fround(max / 127);
  const inv = scale === 0 ? 0 : 1 / scale;
  const values = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) values[i] = clamp(Math.round(w[i] * inv), -127, 127);
  return { values, scale };
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
