/**
 * The stand-in's forward pass in float64, written from the config alone (Qwen2: RMSNorm, rotate-half rotary
 * positions with θ = rope_theta, grouped-query causal attention, q/k/v biases, SwiGLU, tied head). Comparing its
 * logits with onnxruntime's proves the generated graph computes the model the config describes.
 */
import { StandinShape } from './config';
import { WeightSource } from './graph';

export interface ReferenceOptions {
  layers: number;
  /** The head as an H × V matrix (default: the embedding's transpose, i.e. tied). */
  head?: Float32Array;
}

/** Logits [tokens.length × vocab] for tokens at positions 0 … n−1. */
export function referenceLogits(s: StandinShape, w: WeightSource, tokens: readonly number[], opts: ReferenceOptions): Float64Array[] {
  const H = s.hidden, D = s.headDim, n = tokens.length;
  const embed = w('model.embed_tokens.weight');
  let x: Float64Array[] = tokens.map((t) => Float64Array.from(embed.subarray(t * H, (t + 1) * H)));
  const inv = Array.from({ length: D / 2 }, (_, i) => 1 / s.ropeTheta ** ((2 * i) / D));
  for (let l = 0; l < opts.layers; l++) {
    const p = `model.layers.${l}`;
    const n1 = x.map((v) => rmsNorm(v, w(`${p}.input_layernorm.weight`), s.rmsEps));
    const proj = (name: string, out: number, bias: boolean) => {
      const W = w(`${p}.self_attn.${name}.weight`);
      const b = bias ? w(`${p}.self_attn.${name}.bias`) : undefined;
      return n1.map((v) => matvec(v, W, out, b));
    };
    const q = proj('q_proj', s.heads * D, true).map((v, t) => rope(v, s.heads, D, t, inv));
    const k = proj('k_proj', s.kvHeads * D, true).map((v, t) => rope(v, s.kvHeads, D, t, inv));
    const v = proj('v_proj', s.kvHeads * D, true);
    const ctx = attention(q, k, v, s.heads, s.kvHeads, D);
    const Wo = w(`${p}.self_attn.o_proj.weight`);
    x = x.map((xt, t) => add(xt, matvec(ctx[t], Wo, H)));
    const Wg = w(`${p}.mlp.gate_proj.weight`), Wu = w(`${p}.mlp.up_proj.weight`), Wd = w(`${p}.mlp.down_proj.weight`);
    const post = w(`${p}.post_attention_layernorm.weight`);
    x = x.map((xt) => {
      const h = rmsNorm(xt, post, s.rmsEps);
      const g = matvec(h, Wg, s.intermediate), u = matvec(h, Wu, s.intermediate);
      for (let i = 0; i < g.length; i++) g[i] = (g[i] / (1 + Math.exp(-g[i]))) * u[i];
      return add(xt, matvec(g, Wd, H));
    });
  }
  const norm = w('model.norm.weight');
  return x.slice(0, n).map((xt) => {
    const h = rmsNorm(xt, norm, s.rmsEps);
    const out = new Float64Array(s.vocab);
    if (opts.head) return matvec(h, opts.head, s.vocab);
    for (let j = 0; j < s.vocab; j++) {
      let acc = 0;
      for (let i = 0; i < H; i++) acc += h[i] * embed[j * H + i];
      out[j] = acc;
    }
    return out;
  });
}

function rmsNorm(v: Float64Array, weight: Float32Array, eps: number): Float64Array {
  let ms = 0;
  for (const x of v) ms += x * x;
  const inv = 1 / Math.sqrt(ms / v.length + eps);
  return v.map((x, i) => x * inv * weight[i]);
}

/** v (length K) @ W (K × N row-major) + b. */
function matvec(v: Float64Array, W: Float32Array, n: number, b?: Float32Array): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < v.length; i++) {
    const vi = v[i];
    for (let j = 0; j < n; j++) out[j] += vi * W[i * n + j];
  }
  if (b) for (let j = 0; j < n; j++) out[j] += b[j];
  return out;
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((x, i) => x + b[i]);
}

/** Rotate-half rotary embedding of each head at position `pos`. */
function rope(v: Float64Array, heads: number, D: number, pos: number, inv: number[]): Float64Array {
  const out = new Float64Array(v.length);
  const half = D / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < D; i++) {
      const a = pos * inv[i % half];
      const rotated = i < half ? -v[h * D + i + half] : v[h * D + i - half];
      out[h * D + i] = v[h * D + i] * Math.cos(a) + rotated * Math.sin(a);
    }
  }
  return out;
}

/** Causal softmax attention; query head h reads key/value head ⌊h / (heads / kvHeads)⌋. */
function attention(q: Float64Array[], k: Float64Array[], v: Float64Array[], heads: number, kvHeads: number, D: number): Float64Array[] {
  const rep = heads / kvHeads;
  return q.map((qt, t) => {
    const out = new Float64Array(heads * D);
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / rep);
      const scores = Array.from({ length: t + 1 }, (_, j) => {
        let acc = 0;
        for (let i = 0; i < D; i++) acc += qt[h * D + i] * k[j][g * D + i];
        return acc / Math.sqrt(D);
      });
      const max = Math.max(...scores);
      const e = scores.map((x) => Math.exp(x - max));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= t; j++) for (let i = 0; i < D; i++) out[h * D + i] += (e[j] / z) * v[j][g * D + i];
    }
    return out;
  });
}
