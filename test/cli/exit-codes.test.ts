/**
 * Exit statuses: 2 for usage (unknown command or option, bad value, unknown model id or variant, a cursor outside the
 * file), 1 for runtime failures (a missing file, a model not downloaded, a broken model folder); the same mistake
 * gives the same status in every command, and every command's --help lists them.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertOneLineError, fixture, run } from '../helpers/cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-exit-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const emptyModels = fs.mkdtempSync(path.join(tmp, 'hub-'));

describe('exit statuses', () => {
  test('usage mistakes exit 2, in complete, verify and download alike', async () => {
    const usage: [string[], RegExp][] = [
      [['complete', '--bogus'], /unknown option --bogus/],
      [['complete', '--prefix', 'x', '--top-p', '2'], /--top-p must be/],
      [['complete', '--prefix', 'x', '--target', 'no-such-model'], /target: unknown model 'no-such-model'/],
      [['complete', '--prefix', 'x', '--drafter', 'no-such-model'], /drafter: unknown model 'no-such-model'/],
      [['verify', '--target', 'no-such-model'], /target: unknown model 'no-such-model'/],
      [['complete', '--prefix', 'x', '--variant', 'int3'], /--variant: no ONNX file for variant "int3" in .*lockstep-target .*this directory has: fp32/],
      [['complete', '--prefix', 'x', '--drafter', 'lockstep-drafter-a', '--drafter-variant', 'int3'], /--drafter-variant: no ONNX file for variant "int3"/],
      [['complete', '--prefix', 'x', '--target', 'qwen2.5-coder-1.5b', '--variant', 'int3'], /--variant: model 'qwen2\.5-coder-1\.5b' has no variant "int3" \(variants: /],
      [['verify', '--variant', 'int3'], /--variant: no ONNX file for variant "int3"/],
      [['download', 'no-such-model', '--models-dir', emptyModels], /unknown model 'no-such-model'/],
      [['download', 'qwen2.5-coder-1.5b', '--variant', 'int3', '--models-dir', emptyModels], /--variant: model 'qwen2\.5-coder-1\.5b' has no variant "int3"/],
      [['complete', `${fixture}:99999:1`], /line 99999 is out of range/],
      [['complete', `${fixture}:1:999`], /column 999 is out of range/],
      [['frobnicate'], /unknown command/],
    ];
    for (const [argv, re] of usage) {
      const r = await run(...argv);
      assertOneLineError(r, re);
      assert.equal(r.code, 2, `${argv.join(' ')} → ${r.code}: ${r.stderr}`);
    }
  });

  test('runtime failures exit 1', async () => {
    fs.mkdirSync(path.join(tmp, 'not-a-model'), { recursive: true });
    const runtime: [string[], RegExp][] = [
      [['complete', path.join(tmp, 'missing.js:1:1')], /cannot read .*missing\.js: no such file/],
      [['complete', '--prefix', 'x', '--target', path.join(tmp, 'not-a-model')], /config\.json is missing/],
      // A catalog model that exists but is not in this (empty) models directory.
      [['complete', '--prefix', 'x', '--target', 'qwen2.5-coder-1.5b'], /is not downloaded — run `lockstep download qwen2\.5-coder-1\.5b`/],
    ];
    const saved = process.env.LOCKSTEP_MODELS_DIR;
    process.env.LOCKSTEP_MODELS_DIR = emptyModels;
    try {
      for (const [argv, re] of runtime) {
        const r = await run(...argv);
        assertOneLineError(r, re);
        assert.equal(r.code, 1, `${argv.join(' ')} → ${r.code}: ${r.stderr}`);
      }
    } finally {
      if (saved === undefined) delete process.env.LOCKSTEP_MODELS_DIR;
      else process.env.LOCKSTEP_MODELS_DIR = saved;
    }
  });

  test('--help of every command lists the exit statuses', async () => {
    for (const argv of [['--help'], ['help', 'complete'], ['complete', '--help'], ['help', 'verify'], ['help', 'download'], ['download', '--help'],
      ['help', 'export-fused'], ['help', 'bench']]) {
      const r = await run(...argv);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Exit status:\n {2}0 {2}success\n {2}1 {2}runtime failure: .*\n {2}2 {2}usage: .*unknown model id or variant/, argv.join(' '));
    }
  });
});
