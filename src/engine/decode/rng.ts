/**
 * Counter-based public randomness: the project's specification of every random number the
 * samplers use. Nothing here has state, so the value for (seed, position, id, stream) never
 * depends on how many numbers were drawn before it — which is what drafter invariance needs
 * (arXiv 2408.07978: key the noise on the seed, the absolute position and the token id, never
 * on the round, the draft index or a sequential generator whose consumption depends on
 * acceptances).
 *
 * ## hash32(seed, position, id, stream) -> uint32
 * MurmurHash3 x86_32 over exactly five 32-bit words, in this order:
 *
 *     [seedLo, seedHi, position, id, stream]
 *
 * where seed is a non-negative integer ≤ 2^53 − 1, seedLo = seed mod 2^32 (`seed >>> 0`),
 * seedHi = floor(seed / 2^32); position, id and stream are uint32 (a value outside that
 * range is taken mod 2^32, as Math.imul does).
 *
 *  - hash seed h = 0x9747b28c;
 *  - per word k: k = k·0xcc9e2d51; k = rotl32(k, 15); k = k·0x1b873593;
 *                h ^= k; h = rotl32(h, 13); h = h·5 + 0xe6546b64      (all mod 2^32);
 *  - no tail (20 bytes is a whole number of words); h ^= 20 (the length in bytes);
 *  - fmix32: h ^= h>>>16; h = h·0x85ebca6b; h ^= h>>>13; h = h·0xc2b2ae35; h ^= h>>>16.
 *
 * This is byte-for-byte murmur3_x86_32(seed 0x9747b28c) of the 20-byte little-endian encoding
 * of the five words, so any murmur3 library reproduces it.
 *
 * ## uniform(seed, position, id, stream = 0) = (hash32(...) + 0.5) / 2^32
 * Strictly inside (0, 1): the smallest value is 2^-33, the largest 1 − 2^-33.
 *
 * ## Streams (the `stream` word), one per use so that no two uses share a number
 *  - STREAM_GUMBEL (0):          Gumbel-max noise of token `id` at `position`.
 *  - STREAM_DART_TOKEN (1):      Weighted MinHash, dart `id` (= m): the dart's token.
 *  - STREAM_DART_HEIGHT (2):     Weighted MinHash, dart `id` (= m): the dart's height.
 *  - STREAM_STANDARD_DRAFT (3):  standard speculative sampling, id 0: the drafter's
 *                                inverse-CDF draw at `position`.
 *  - STREAM_STANDARD_ACCEPT (4): standard speculative sampling, id 0: the acceptance test
 *                                u < min(1, p/q) of the draft at `position`.
 *  - STREAM_STANDARD_TARGET (5): standard speculative sampling, id 0: the target's own draw at
 *                                `position` (residual on rejection, or the bonus token).
 *
 * ## gumbel(u) = −ln(−ln u)
 * With u ≤ 1 − 2^-33, gumbel(u) ≤ GUMBEL_MAX = gumbel(1 − 2^-33) ≈ 22.87, the bound the
 * Gumbel-max sampler uses to skip tokens that cannot win.
 *
 * No function allocates.
 */

export const STREAM_GUMBEL = 0;
export const STREAM_DART_TOKEN = 1;
export const STREAM_DART_HEIGHT = 2;
export const STREAM_STANDARD_DRAFT = 3;
export const STREAM_STANDARD_ACCEPT = 4;
export const STREAM_STANDARD_TARGET = 5;

/** MurmurHash3 x86_32 seed used for every hash in the project. */
export const HASH_SEED = 0x9747b28c;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const TWO_POW_32 = 4294967296;
const INV_TWO_POW_32 = 1 / TWO_POW_32;

/** One murmur3 body round: mixes word k into state h (both int32 bit patterns). */
function round(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * MurmurHash3 x86_32 of the words [seed mod 2^32, floor(seed / 2^32), position, id, stream]
 * with hash seed 0x9747b28c (see the header). Returns a uint32.
 */
export function hash32(seed: number, position: number, id: number, stream: number): number {
  return hashFrom(positionState(seed, position), id, stream);
}

/**
 * The murmur3 state after the first three words [seedLo, seedHi, position]: the same for every id at one position,
 * so a sampler scanning the vocabulary computes it once (hashFrom finishes the hash).
 */
export function positionState(seed: number, position: number): number {
  let h = HASH_SEED | 0;
  h = round(h, seed >>> 0);
  h = round(h, Math.floor(seed * INV_TWO_POW_32));
  return round(h, position);
}

/** hash32 finished from positionState(seed, position): hashFrom(positionState(s, p), id, stream) = hash32(s, p, id, stream). */
export function hashFrom(state: number, id: number, stream: number): number {
  let h = round(state, id);
  h = round(h, stream);
  h ^= 20;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** gumbel(uniform(seed, position, id, STREAM_GUMBEL)) from positionState(seed, position), bit for bit. */
export function gumbelFrom(state: number, id: number): number {
  return -Math.log(-Math.log(unitFromHash(hashFrom(state, id, STREAM_GUMBEL))));
}

/** Maps a uint32 hash to (h + 0.5) / 2^32, strictly inside (0, 1) (exact in binary64). */
export function unitFromHash(h: number): number {
  return (h + 0.5) * INV_TWO_POW_32;
}

/** The public uniform of (seed, position, id, stream): (hash32 + 0.5) / 2^32 ∈ (0, 1). */
export function uniform(seed: number, position: number, id: number, stream = 0): number {
  return unitFromHash(hash32(seed, position, id, stream));
}

/** Standard Gumbel variate from a uniform: −ln(−ln u). */
export function gumbel(u: number): number {
  return -Math.log(-Math.log(u));
}

/**
 * The largest value gumbel() returns on any uniform() output: gumbel(1 − 2^-33) ≈ 22.873.
 * Computed with gumbel itself so the bound holds for the floating-point values actually
 * produced (gumbel is monotone in u), which exact pruning relies on.
 */
export const GUMBEL_MAX = gumbel(1 - 2 ** -33);
