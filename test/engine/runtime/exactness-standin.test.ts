/**
 * The exactness probe on the Qwen2.5-Coder-shaped stand-in (ci size: the real 151 936 vocabulary, onnx-community's
 * file names): fp32 and q4 are exact with calls of ≥ 2 tokens, dynamic int8 is never exact (drafting off, and
 * `lockstep verify` then reports identical texts because every drafter decoded plainly). fp16 and q4f16 are whatever
 * the probe measures on this machine: their verdict only has to be consistent.
 */
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../../src/engine/process/engine';
import type { StandinResult } from '../../../tools/standin/generate';
import { run } from '../../helpers/cli';
import { ciStandin } from '../../helpers/standin';

process.env.LOCKSTEP_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-standin-cache-'));
let ci: StandinResult;
before(() => {
  ci = ciStandin();
});

for (const variant of ['fp32', 'q4', 'int8', 'fp16', 'q4f16']) {
  test(`ci stand-in ${variant}: the probe's verdict`, async () => {
    const e = await Engine.create({ target: ci.target, variant, threads: 1 });
    const v = e.info().exactness;
    await e.dispose();
    assert.equal(v.variant, variant);
    if (variant === 'int8') {
      assert.equal(v.exact, false);
      for (const r of v.results) for (const g of r.groupings) assert.equal(g.equal, 0, `${r.rule} ${g.grouping}`);
    } else if (variant === 'fp32' || variant === 'q4') {
      assert.equal(v.exact, true);
      assert.equal(v.rule, 'min2');
      assert.equal(`${v.rowsEqual}/${v.rows}`, '120/120');
    } else {
      assert.equal(v.exact, v.rule !== undefined);
      const last = v.results[v.results.length - 1];
      assert.equal(last.exact, v.exact);
    }
  });
}

test('lockstep verify on the int8 stand-in: not exact, drafting off, identical; on q4: exact with calls of ≥ 2 tokens', async () => {
  const args = ['--target', ci.target, '--drafter', ci.drafter!, '--drafter', 'prompt-lookup', '--cases', '2', '--max-tokens', '6', '--gamma', '3', '--threads', '1'];
  const int8 = await run('verify', ...args, '--variant', 'int8', '--drafter-variant', 'q4');
  assert.equal(int8.code, 0, int8.stdout + int8.stderr);
  assert.match(int8.stdout, /^exactness: int8 on cpu, 1 thread: not exact: drafting off \(0\/24 rows equal under the best rule tried\)/m);
  assert.match(int8.stdout, /verdict: IDENTICAL .* drafting was off/);
  assert.equal(int8.stderr.split('\n').filter((l) => l.includes('drafting is off')).length, 1);
  const q4 = await run('verify', ...args, '--variant', 'q4');
  assert.equal(q4.code, 0, q4.stdout + q4.stderr);
  assert.match(q4.stdout, /^exactness: q4 on cpu, 1 thread: exact with calls of ≥ 2 tokens \(120\/120 rows equal\)/m);
  assert.doesNotMatch(q4.stdout, /drafting was off/);
});
