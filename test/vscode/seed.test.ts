/** Seed handling (src/vscode/seed.ts). */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { SeedState, nextSeed, parseSeed, previousSeed, randomSeed, seedFromArgument } from '../../src/vscode/seed';

describe('parseSeed', () => {
  test('accepts decimal integers 0..2^53−1, with spaces and separators', () => {
    assert.deepEqual(parseSeed('0'), { ok: true, seed: 0 });
    assert.deepEqual(parseSeed(' 42 '), { ok: true, seed: 42 });
    assert.deepEqual(parseSeed('1_000_000'), { ok: true, seed: 1_000_000 });
    assert.deepEqual(parseSeed('4,294,967,296'), { ok: true, seed: 2 ** 32 });
    assert.deepEqual(parseSeed('9007199254740991'), { ok: true, seed: Number.MAX_SAFE_INTEGER });
  });
  test('refuses everything else with a message', () => {
    for (const bad of ['', '  ', '-1', '1.5', '1e3', '0x10', 'seven', '9007199254740992', '99999999999999999999']) {
      const p = parseSeed(bad);
      assert.equal(p.ok, false, bad);
      if (!p.ok) assert.ok(p.message.length > 0);
    }
  });
});

test('randomSeed: integers in [0, 2^32), from the given generator', () => {
  assert.equal(randomSeed(() => 0), 0);
  assert.equal(randomSeed(() => 0.5), 2 ** 31);
  assert.equal(randomSeed(() => 0.9999999999), Math.floor(0.9999999999 * 2 ** 32));
  assert.equal(randomSeed(() => Number.NaN), 0);
  for (let i = 0; i < 100; i++) {
    const s = randomSeed();
    assert.ok(Number.isSafeInteger(s) && s >= 0 && s < 2 ** 32);
  }
});

test('nextSeed: +1, wrapping after the largest seed', () => {
  assert.equal(nextSeed(0), 1);
  assert.equal(nextSeed(41), 42);
  assert.equal(nextSeed(Number.MAX_SAFE_INTEGER), 0);
  assert.equal(nextSeed(-3), 0);
});

test('previousSeed: −1, wrapping below 0 to the largest seed (Next Seed undone)', () => {
  assert.equal(previousSeed(42), 41);
  assert.equal(previousSeed(0), Number.MAX_SAFE_INTEGER);
  assert.equal(previousSeed(-3), Number.MAX_SAFE_INTEGER);
  for (const s of [0, 7, Number.MAX_SAFE_INTEGER]) assert.equal(previousSeed(nextSeed(s)), s);
});

test('seedFromArgument: numbers and numeric strings (command arguments)', () => {
  assert.equal(seedFromArgument(7), 7);
  assert.equal(seedFromArgument('7'), 7);
  assert.equal(seedFromArgument(-1), undefined);
  assert.equal(seedFromArgument(1.5), undefined);
  assert.equal(seedFromArgument(undefined), undefined);
  assert.equal(seedFromArgument({}), undefined);
});

describe('SeedState', () => {
  test('the setting until a command chooses; next() counts from the current seed', () => {
    const s = new SeedState(5);
    assert.equal(s.current, 5);
    assert.equal(s.overridden, false);
    assert.equal(s.next(), 6);
    assert.equal(s.current, 6);
    assert.equal(s.overridden, true);
    s.set(100);
    assert.equal(s.current, 100);
  });
  test('a changed setting wins over the session choice; the same value does not', () => {
    const s = new SeedState(5);
    s.set(100);
    s.updateSetting(5);
    assert.equal(s.current, 100);
    s.updateSetting(9);
    assert.equal(s.current, 9);
    assert.equal(s.overridden, false);
  });
});
