import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GUMBEL_MAX,
  HASH_SEED,
  STREAM_DART_HEIGHT,
  STREAM_DART_TOKEN,
  STREAM_GUMBEL,
  STREAM_STANDARD_ACCEPT,
  STREAM_STANDARD_DRAFT,
  STREAM_STANDARD_TARGET,
  gumbel,
  gumbelFrom,
  hashFrom,
  positionState,
  hash32,
  uniform,
  unitFromHash,
} from '../../../src/engine/decode/rng';

// ---------------------------------------------------------------------------------------
// Independent reference: MurmurHash3 x86_32 over 32-bit words, written with BigInt so it
// shares no arithmetic tricks (Math.imul, >>> 0, int32 wrap-around) with the implementation.
const M32 = 0xffffffffn;
const mul32 = (a: bigint, b: bigint): bigint => (a * b) & M32;
const rotl32 = (x: bigint, r: number): bigint => ((x << BigInt(r)) | (x >> BigInt(32 - r))) & M32;

function murmur3Words(words: readonly bigint[], lengthBytes: number, seed: bigint): bigint {
  let h = seed & M32;
  for (const word of words) {
    let k = word & M32;
    k = mul32(k, 0xcc9e2d51n);
    k = rotl32(k, 15);
    k = mul32(k, 0x1b873593n);
    h ^= k;
    h = rotl32(h, 13);
    h = (mul32(h, 5n) + 0xe6546b64n) & M32;
  }
  h ^= BigInt(lengthBytes);
  h ^= h >> 16n;
  h = mul32(h, 0x85ebca6bn);
  h ^= h >> 13n;
  h = mul32(h, 0xc2b2ae35n);
  h ^= h >> 16n;
  return h;
}

function referenceHash32(seed: bigint, position: bigint, id: bigint, stream: bigint): number {
  const words = [seed & M32, seed >> 32n, position, id, stream];
  return Number(murmur3Words(words, 20, BigInt(HASH_SEED)));
}

/** Little-endian uint32 of a 4-character latin-1 string, as murmur3 reads the bytes. */
function le32(s: string): bigint {
  return BigInt(Buffer.from(s, 'latin1').readUInt32LE(0));
}

/** Upper 0.1% quantile of chi-square(df), Wilson–Hilferty approximation (z = 3.0902). */
function chiSquareCritical001(df: number): number {
  const z = 3.0902;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

// ---------------------------------------------------------------------------------------

test('the BigInt reference reproduces published MurmurHash3 x86_32 vectors', () => {
  // Widely published test vectors for murmur3_x86_32 (word-aligned keys only).
  assert.equal(murmur3Words([], 0, 1n), 0x514e28b7n);
  assert.equal(murmur3Words([], 0, 0xffffffffn), 0x81f16f39n);
  assert.equal(murmur3Words([0n], 4, 0n), 0x2362f9den);
  assert.equal(murmur3Words([0x87654321n], 4, 0n), 0xf55b516bn);
  assert.equal(murmur3Words([0x87654321n], 4, 0x5082edeen), 0x2362f9den);
  assert.equal(murmur3Words([le32('aaaa')], 4, 0x9747b28cn), 0x5a97808an);
  assert.equal(murmur3Words([le32('abcd')], 4, 0x9747b28cn), 0xf0478627n);
});

test('hash32 and uniform: pinned vectors', () => {
  // [seed, position, id, stream, hash32, uniform]; computed once and pinned (the first
  // three and the seed >= 2^32 ones are cross-checked against the BigInt reference below).
  const pinned: Array<[number, number, number, number, number, number]> = [
    [0, 0, 0, 0, 1636717521, 0.3810779940104112],
    [1, 2, 3, 4, 2483203493, 0.5781658677151427],
    [42, 7, 151935, 0, 1785407515, 0.4156975810183212],
    [2 ** 32, 0, 0, 0, 1395098567, 0.3248216974316165],
    [2 ** 53 - 1, 4294967295, 4294967295, 4294967295, 2439690069, 0.5680346091976389],
    [123456789012, 1000, 50000, 5, 1454610875, 0.3386779864085838],
  ];
  for (const [seed, pos, id, stream, h, u] of pinned) {
    assert.equal(hash32(seed, pos, id, stream), h, `hash32(${seed}, ${pos}, ${id}, ${stream})`);
    assert.equal(uniform(seed, pos, id, stream), u, `uniform(${seed}, ${pos}, ${id}, ${stream})`);
    assert.equal(
      referenceHash32(BigInt(seed), BigInt(pos), BigInt(id), BigInt(stream)),
      h,
      `BigInt reference for (${seed}, ${pos}, ${id}, ${stream})`,
    );
  }
  // The default stream is STREAM_GUMBEL = 0.
  assert.equal(uniform(42, 7, 151935), 0.4156975810183212);
});

test('hash32 matches the BigInt reference on many random inputs', () => {
  let x = 0x12345678;
  const next = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
  for (let t = 0; t < 2000; t++) {
    const seed = next() * 2 ** 21 + (next() >>> 11); // up to 2^53 - 1
    const pos = next();
    const id = next();
    const stream = next() & 7;
    assert.equal(
      hash32(seed, pos, id, stream),
      referenceHash32(BigInt(seed), BigInt(pos), BigInt(id), BigInt(stream)),
    );
  }
});

test('stream constants', () => {
  assert.deepEqual(
    [
      STREAM_GUMBEL,
      STREAM_DART_TOKEN,
      STREAM_DART_HEIGHT,
      STREAM_STANDARD_DRAFT,
      STREAM_STANDARD_ACCEPT,
      STREAM_STANDARD_TARGET,
    ],
    [0, 1, 2, 3, 4, 5],
  );
});

test('uniform is strictly inside (0, 1), including at the extreme hashes', () => {
  assert.equal(unitFromHash(0), 2 ** -33);
  assert.equal(unitFromHash(0xffffffff), 1 - 2 ** -33);
  assert.ok(unitFromHash(0) > 0 && unitFromHash(0xffffffff) < 1);
  for (let i = 0; i < 20000; i++) {
    const u = uniform(7, i, i * 31, i % 6);
    assert.ok(u > 0 && u < 1, `uniform out of (0,1): ${u}`);
    assert.equal(u, unitFromHash(hash32(7, i, i * 31, i % 6)));
  }
});

test('GUMBEL_MAX bounds gumbel() on every attainable uniform', () => {
  assert.ok(Math.abs(GUMBEL_MAX - 22.87385695841999) < 1e-12, `GUMBEL_MAX = ${GUMBEL_MAX}`);
  assert.equal(gumbel(unitFromHash(0xffffffff)), GUMBEL_MAX);
  // The top of the range is where a non-monotone log would break the bound.
  for (let h = 0xffffffff; h > 0xffffffff - 200000; h--) {
    assert.ok(gumbel(unitFromHash(h)) <= GUMBEL_MAX);
  }
  assert.ok(gumbel(unitFromHash(0xffffffff - 1)) < GUMBEL_MAX);
});

test('uniform passes a 64-bin chi-square test over 100k draws (positions and ids)', () => {
  const bins = 64;
  const draws = 100000;
  const crit = chiSquareCritical001(bins - 1); // ≈ 103.5
  const check = (label: string, draw: (i: number) => number): void => {
    const counts = new Float64Array(bins);
    for (let i = 0; i < draws; i++) counts[Math.floor(draw(i) * bins)]++;
    const expected = draws / bins;
    let chi = 0;
    for (let b = 0; b < bins; b++) chi += (counts[b] - expected) ** 2 / expected;
    assert.ok(chi < crit, `${label}: chi-square ${chi.toFixed(1)} >= ${crit.toFixed(1)}`);
  };
  check('over positions', (i) => uniform(20240807, i, 5, STREAM_GUMBEL));
  check('over ids', (i) => uniform(99, 3, i, STREAM_DART_HEIGHT));
  check('over seeds', (i) => uniform(i, 0, 0, STREAM_STANDARD_ACCEPT));
});

test('different streams, ids, positions and seeds give different values', () => {
  const base = hash32(1234, 56, 78, 0);
  const seen = new Set<number>();
  for (let s = 0; s < 6; s++) seen.add(hash32(1234, 56, 78, s));
  assert.equal(seen.size, 6, 'streams collide');
  assert.notEqual(hash32(1234, 56, 79, 0), base);
  assert.notEqual(hash32(1234, 57, 78, 0), base);
  assert.notEqual(hash32(1235, 56, 78, 0), base);
  // Swapping words must matter (the words are positional, not a set).
  assert.notEqual(hash32(1234, 78, 56, 0), base);
  // Over a block of neighbouring inputs, 32-bit collisions should be essentially absent.
  const all = new Set<number>();
  for (let pos = 0; pos < 100; pos++) for (let id = 0; id < 100; id++) all.add(hash32(1, pos, id, 0));
  assert.ok(all.size >= 9998, `${10000 - all.size} collisions among 10000 neighbours`);
});

test('seeds >= 2^32 use the high word', () => {
  for (const lo of [0, 5, 0xffffffff]) {
    const low = hash32(lo, 3, 9, 0);
    for (const hi of [1, 2, 0x1fffff]) {
      const seed = hi * 2 ** 32 + lo;
      const h = hash32(seed, 3, 9, 0);
      assert.notEqual(h, low, `seed ${seed} hashes like ${lo}`);
      assert.equal(h, referenceHash32(BigInt(seed), 3n, 9n, 0n));
    }
  }
  // The high word is the second word, not added to the first.
  assert.notEqual(hash32(2 ** 32, 0, 0, 0), hash32(0, 1, 0, 0));
  assert.equal(hash32(2 ** 32, 0, 0, 0), referenceHash32(0n + (1n << 32n), 0n, 0n, 0n));
});

test('positionState + hashFrom and gumbelFrom give exactly hash32 and gumbel(uniform) (the samplers\' fast path)', () => {
  let x = 12345;
  const next = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x;
  };
  for (let i = 0; i < 20000; i++) {
    const seed = i % 3 === 0 ? next() * 2 ** 21 + next() % 2 ** 21 : next();
    const position = next() % 100000;
    const id = next() % 160000;
    const stream = next() % 6;
    const state = positionState(seed, position);
    assert.equal(hashFrom(state, id, stream), hash32(seed, position, id, stream));
    assert.ok(Object.is(gumbelFrom(state, id), gumbel(uniform(seed, position, id, STREAM_GUMBEL))));
  }
});
