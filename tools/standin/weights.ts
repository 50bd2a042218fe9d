/**
 * Random weights from a seeded generator, one stream per tensor name (xoshiro128** seeded from MurmurHash3 of the seed
 * and the name), so a tensor is the same in every variant and in the drafter, and can be made again when written.
 *
 * Scales are chosen so the model is not flat: the residual branches dwarf the embedding (with tied weights a token's
 * own embedding would otherwise dominate its logits and the model would only repeat its input), branch sizes fall
 * geometrically with depth so the first `drafterLayers` layers carry `DRAFTER_SHARE` of the residual variance (the
 * early-exit drafter then agrees with the target part of the time), and the final norm's gain sets the logits' spread
 * to about LOGIT_STD (a few nats of entropy over 151 936 tokens).
 */
import { StandinShape } from './config';

const EMBED_STD = 0.02;
/** Residual-branch rms over embedding rms, all layers together. */
const BRANCH_RATIO = 100;
const LOGIT_STD = 4;
const DRAFTER_SHARE = 0.9;
/** rms of silu(g)·u for g, u ~ N(0, 1). */
const SWIGLU_RMS = 0.59;

export interface TensorRecipe {
  count: number;
  center: number;
  std: number;
}

/** Per-layer branch rms: ρ_l ∝ decay^l with the first `k` layers carrying DRAFTER_SHARE of Σρ². */
export function branchScales(s: StandinShape): number[] {
  const share = (d: number) => (1 - d ** (2 * s.drafterLayers)) / (1 - d ** (2 * s.layers));
  let lo = 1e-6, hi = 1 - 1e-9;
  if (s.drafterLayers >= s.layers) hi = lo;
  for (let i = 0; i < 100 && hi > lo; i++) {
    const mid = (lo + hi) / 2;
    if (share(mid) > DRAFTER_SHARE) lo = mid;
    else hi = mid;
  }
  const d = lo;
  const raw = Array.from({ length: s.layers }, (_, l) => d ** l);
  const norm = Math.sqrt(raw.reduce((a, r) => a + r * r, 0));
  return raw.map((r) => (BRANCH_RATIO * r) / norm);
}

/** How each named tensor is drawn (uniform with the given mean and standard deviation). Linear weights are [in, out]. */
export function recipe(s: StandinShape, name: string): TensorRecipe {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  if (name === 'model.embed_tokens.weight') return { count: s.vocab * s.hidden, center: 0, std: EMBED_STD };
  if (name === 'model.norm.weight') return { count: s.hidden, center: LOGIT_STD / (Math.sqrt(s.hidden) * EMBED_STD), std: 0.05 };
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new Error(`no recipe for tensor ${name}`);
  const l = Number(m[1]);
  const rho = branchScales(s)[l] / Math.SQRT2;
  const r: Record<string, TensorRecipe> = {
    'input_layernorm.weight': { count: s.hidden, center: 1, std: 0.05 },
    'post_attention_layernorm.weight': { count: s.hidden, center: 1, std: 0.05 },
    'self_attn.q_proj.weight': { count: s.hidden * q, center: 0, std: 1.5 / Math.sqrt(s.hidden) },
    'self_attn.q_proj.bias': { count: q, center: 0, std: 0.1 },
    'self_attn.k_proj.weight': { count: s.hidden * kv, center: 0, std: 1.5 / Math.sqrt(s.hidden) },
    'self_attn.k_proj.bias': { count: kv, center: 0, std: 0.1 },
    'self_attn.v_proj.weight': { count: s.hidden * kv, center: 0, std: 1 / Math.sqrt(s.hidden) },
    'self_attn.v_proj.bias': { count: kv, center: 0, std: 0.02 },
    'self_attn.o_proj.weight': { count: q * s.hidden, center: 0, std: (EMBED_STD * rho) / Math.sqrt(q) },
    'mlp.gate_proj.weight': { count: s.hidden * s.intermediate, center: 0, std: 1 / Math.sqrt(s.hidden) },
    'mlp.up_proj.weight': { count: s.hidden * s.intermediate, center: 0, std: 1 / Math.sqrt(s.hidden) },
    'mlp.down_proj.weight': { count: s.intermediate * s.hidden, center: 0, std: (EMBED_STD * rho) / (Math.sqrt(s.intermediate) * SWIGLU_RMS) },
  };
  const found = r[m[2]];
  if (!found) throw new Error(`no recipe for tensor ${name}`);
  return found;
}

/** The tensor's values: seeded by (seed, name) only. */
export function weight(s: StandinShape, seed: number, name: string): Float32Array {
  const { count, center, std } = recipe(s, name);
  const rng = new Xoshiro128(seed, name);
  const out = new Float32Array(count);
  const half = std * Math.sqrt(3);
  for (let i = 0; i < count; i++) out[i] = center + half * (2 * rng.next() - 1);
  return out;
}

/** xoshiro128** (Blackman & Vigna), uniform doubles in [0, 1) from 32 bits. */
class Xoshiro128 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, name: string) {
    let h = murmurMix(seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0);
    for (let i = 0; i < name.length; i++) h = murmurMix(h, name.charCodeAt(i));
    this.a = murmurMix(h, 1);
    this.b = murmurMix(h, 2);
    this.c = murmurMix(h, 3);
    this.d = murmurMix(h, 4) | 1;
  }

  next(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** One MurmurHash3 block step plus finalisation: mixes a word into a 32-bit state. */
function murmurMix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = rotl(k, 15);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = rotl(h, 13);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
