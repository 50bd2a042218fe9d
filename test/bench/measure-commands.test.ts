/**
 * Smoke tests of the single-measurement bench commands (bench/measureCommands.ts) at tiny sizes on the shipped 7M
 * models and a ci-size stand-in: each runs to the end and prints its figures in the shape the docs quote. No timing is
 * asserted. Also: src/'s CLI never loads bench/ (given `bench`, it points to bin/lockstep.js).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchMain } from '../../bench/main';
import { readGguf } from '../../bench/peer/gguf';
import { main } from '../../src/cli/main';
import { packageRoot } from '../../src/models/catalog';
import { generateStandin } from '../../tools/standin/generate';
import { assertOneLineError } from '../helpers/cli';

const ROOT = packageRoot();
let tmp = '';

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t), readStdin: async () => '', cwd: ROOT };
  const code = await (argv[0] === 'bench' || argv[0] === 'help' ? benchMain : main)(argv, io);
  return { code, stdout, stderr };
}

async function ok(...argv: string[]): Promise<string> {
  const r = await run(...argv);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const number = String.raw`\d+(?:\.\d+)?`;

describe('lockstep bench: the single measurements (smoke)', () => {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-measure-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('call-time: a row per shipped model, the target at ratio 1', async () => {
    const lines = (await ok('bench', 'call-time', '--past', '8', '--repeats', '1')).trim().split('\n');
    assert.deepEqual(lines.map((l) => l.split(/ {2,}/)[0]),
      ['lockstep-target (padded to 2)', 'lockstep-target (unpadded, for comparison)', 'lockstep-drafter-b', 'lockstep-drafter-a']);
    for (const l of lines) assert.match(l, new RegExp(`${number} ms {3}cost ratio vs target ${number}$`));
    assert.match(lines[0], /cost ratio vs target 1\.000$/);
  });

  it('call-rule: both rules per drafter, identical texts', async () => {
    const lines = (await ok('bench', 'call-rule', '--prompts', '1', '--max-tokens', '4')).trim().split('\n');
    assert.equal(lines[0], '1 held-out prompts × 4 tokens, T = 0.2, γ auto, 1 thread');
    assert.equal(lines[1], 'drafter | cpu tokens/s | gpu rule tokens/s | time ratio | identical texts');
    assert.deepEqual(lines.slice(2).map((l) => l.split(' | ')[0]), ['none', 'prompt-lookup', 'lockstep-drafter-b']);
    for (const l of lines.slice(2)) assert.match(l, /\| 1\/1$/, l);
  });

  it('ipc: p50 and p95 of the engine process, the IPC and the difference', async () => {
    const lines = (await ok('bench', 'ipc', '--prompts', '2', '--max-tokens', '4')).trim().split('\n');
    assert.equal(lines[0], '2 requests, 4 tokens, drafter none, 1 thread; milliseconds per request');
    assert.equal(lines.length, 5);
    for (const l of lines.slice(2)) assert.match(l, new RegExp(` -?${number} +-?${number}$`), l);
  });

  it('variant-memory: a row per session configuration, each from its own process', async () => {
    const out = await ok('bench', 'variant-memory', path.join('models', 'lockstep-drafter-b'), 'fp32', '1');
    const rows = out.trim().split('\n').slice(3);
    assert.deepEqual(rows.map((l) => l.split(/ {2,}/)[0]), ['engine', 'arena off', 'prepacking off', 'optimisation off', 'arena + prepacking off']);
    for (const l of rows) assert.doesNotMatch(l, /failed/, l);
  });

  it('gguf-convert: a GGUF file that reads back', async () => {
    const file = path.join(tmp, 'drafter-b.gguf');
    const out = await ok('bench', 'gguf-convert', path.join('models', 'lockstep-drafter-b'), file, '--type', 'q4_0');
    assert.match(out, /: llama, \d+ tensors, \d+ bytes \(q4_0\)\n$/);
    assert.equal(readGguf(file).version, 3);
  });

  it('fast-q4: patch and calls on a ci-size stand-in\'s q4 file', async () => {
    const standin = path.join(tmp, 'standin');
    generateStandin({ size: 'ci', variants: ['q4'], out: standin, seed: 0 });
    const target = path.join(standin, 'target');
    const patched = JSON.parse(await ok('bench', 'fast-q4', 'patch', path.join(target, 'onnx', 'model_q4.onnx'), path.join(tmp, 'cache'))) as Record<string, unknown>;
    assert.ok(typeof patched.patchMs === 'number' && typeof patched.maxRssMiB === 'number', JSON.stringify(patched));
    const calls = JSON.parse(await ok('bench', 'fast-q4', 'calls', target, '', '8', '1')) as Record<string, unknown>;
    assert.equal(calls.past, 8);
    assert.ok(typeof calls.asIsCallMs === 'number' && typeof calls.patchedCallMs === 'number', JSON.stringify(calls));
    assert.equal(calls.lastFourPrefillRowsBitwiseEqualToAl4File, null);
  });

  it('help lists every one; wrong arguments are one-line usage errors', async () => {
    const all = await ok('help', 'bench');
    for (const name of ['call-time', 'call-rule', 'ipc', 'variant-memory', 'fast-q4', 'gguf-convert']) {
      assert.match(all, new RegExp(`\\n {2}lockstep bench ${name} `), name);
      assert.match(await ok('bench', name, '--help'), new RegExp(`^lockstep bench ${name} `), name);
    }
    assert.match(await ok('help', 'bench', 'ipc'), /--drafter DRAFTER/);
    for (const [argv, re] of [
      [['bench', 'variant-memory'], /usage: lockstep bench variant-memory MODEL_DIR VARIANT/],
      [['bench', 'fast-q4', 'nope'], /usage: lockstep bench fast-q4 patch/],
      [['bench', 'gguf-convert', 'a', 'b', '--type', 'q8'], /--type/],
      [['bench', 'call-time', 'extra'], /takes no arguments/],
      [['bench', 'ipc', '--past', '3'], /unknown option --past/],
    ] as const) {
      const r = await run(...argv);
      assertOneLineError(r, re);
      assert.equal(r.code, 2, argv.join(' '));
    }
  });

  it('src/\'s CLI does not run the benchmarks: it points to bin/lockstep.js', async () => {
    for (const argv of [['bench', 'speed'], ['help', 'bench']]) {
      let stderr = '';
      const code = await main(argv, { stdout: () => {}, stderr: (t) => void (stderr += t), readStdin: async () => '', cwd: ROOT });
      assert.equal(code, 2);
      assert.match(stderr, /^lockstep: the benchmarks are not in this entry: run 'lockstep bench …' \(bin\/lockstep\.js\)/);
    }
  });
});
