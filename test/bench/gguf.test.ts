/**
 * The GGUF v3 writer and the ONNX → GGUF converter of `lockstep bench peer`: a written file parses back (our reader
 * and node-llama-cpp's), Q4_0 round-trips within its step, the RoPE row permutation pairs rows j and j + d/2, and
 * llama.cpp running a converted shipped model gives Lockstep's greedy token ids.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { convertToGguf, permuteRope } from '../../bench/peer/convert';
import { GgufValue, fromHalf, quantizeQ4_0, readGguf, toHalf, writeGguf } from '../../bench/peer/gguf';
import { LlamaPeer } from '../../bench/peer/llamaPeer';
import { readOnnxWeights } from '../../src/onnx/onnxWeights';
import { validateModel } from '../../bench/peer/validate';
import { heldoutPrompts } from '../../bench/common';
import { Engine } from '../../src/engine/process/engine';
import { findOnnxFile } from '../../src/engine/runtime/modelDir';
import { generateStandin } from '../../tools/standin/generate';

const root = path.resolve(__dirname, '..', '..', '..');
const modelDir = (name: string) => path.join(root, 'models', name);
let tmp = '';

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('GGUF writer', () => {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-gguf-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes every value type and F32 / Q4_0 tensors that read back', () => {
    const file = path.join(tmp, 'tiny.gguf');
    const w = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 3);
    const kv: [string, GgufValue][] = [
      ['general.architecture', { type: 'str', value: 'llama' }],
      ['a.u32', { type: 'u32', value: 7 }], ['a.i32', { type: 'i32', value: -3 }], ['a.f32', { type: 'f32', value: 0.5 }],
      ['a.u64', { type: 'u64', value: 2 ** 40 }], ['a.bool', { type: 'bool', value: true }],
      ['a.strs', { type: 'arr-str', value: ['x', 'ÿ z', ''] }], ['a.ints', { type: 'arr-i32', value: Int32Array.of(1, -2, 3) }],
    ];
    writeGguf(file, kv, [
      { name: 'f', dims: [32, 2], type: 'f32', data: w },
      { name: 'q', dims: [32, 2], type: 'q4_0', data: w },
    ]);
    const g = readGguf(file);
    assert.equal(g.version, 3);
    assert.deepEqual([...g.kv.entries()], [
      ['general.architecture', 'llama'], ['a.u32', 7], ['a.i32', -3], ['a.f32', 0.5], ['a.u64', 2 ** 40], ['a.bool', true],
      ['a.strs', ['x', 'ÿ z', '']], ['a.ints', [1, -2, 3]],
    ]);
    assert.deepEqual(g.tensors.map((t) => [t.name, t.dims, t.type]), [['f', [32, 2], 0], ['q', [32, 2], 2]]);
    assert.ok(bytes(g.tensors[0].data).equals(bytes(w)), 'F32 bytes');
    // Q4_0: 16 levels over [−max, max] per block of 32: every value within one step (max / 8) of the original.
    for (let b = 0; b < 2; b++) {
      const block = w.subarray(b * 32, b * 32 + 32);
      const step = Math.max(...block.map(Math.abs)) / 8;
      block.forEach((x, i) => assert.ok(Math.abs(g.tensors[1].data[b * 32 + i] - x) <= step * 1.001, `block ${b} value ${i}`));
    }
    assert.equal(fs.statSync(file).size % 32, 0, 'data padded to the alignment');
  });

  it('Q4_0 blocks: the value of largest magnitude is exact (level 0), zeros stay zero', () => {
    const x = new Float32Array(32);
    x[3] = -2;
    x[7] = 1;
    const q = quantizeQ4_0(x);
    assert.equal(q.length, 18);
    assert.equal(fromHalf(q[0] | (q[1] << 8)), 0.25);
    assert.equal(q[2 + 3] & 15, 0);
    assert.throws(() => quantizeQ4_0(new Float32Array(31)), /multiple of 32/);
  });

  it('half floats: exact values, rounding to nearest even, overflow to infinity', () => {
    for (const [f, h] of [[1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [1e6, 0x7c00], [2 ** -24, 0x0001], [0, 0]] as const) {
      assert.equal(toHalf(f), h, `${f}`);
    }
    assert.equal(toHalf(1 + 2 ** -11), 0x3c00, 'a tie rounds to even');
    assert.equal(toHalf(1 + 3 * 2 ** -11), 0x3c02);
  });

  it('RoPE permutation: rows (j, j + d/2) of each head become rows (2j, 2j + 1)', () => {
    // 2 heads of d = 4, one column: row value = its original index.
    const w = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual([...permuteRope(w, 2, 1)], [0, 2, 1, 3, 4, 6, 5, 7]);
    const w2 = Float32Array.from([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]); // d = 4, 2 columns per row
    assert.deepEqual([...permuteRope(w2, 1, 2)], [0, 0.5, 2, 2.5, 1, 1.5, 3, 3.5]);
  });

  it('converts a shipped model: llama.cpp names and shapes, weights equal to the ONNX initializers', async () => {
    const file = path.join(tmp, 'drafter-a.gguf');
    const r = convertToGguf(modelDir('lockstep-drafter-a'), file);
    assert.equal(r.arch, 'llama');
    const g = readGguf(file);
    const names = g.tensors.map((t) => t.name);
    for (const n of ['token_embd.weight', 'blk.0.attn_q.weight', 'blk.0.attn_k.weight', 'blk.0.attn_v.weight', 'blk.0.attn_output.weight',
      'blk.0.ffn_gate.weight', 'blk.0.ffn_up.weight', 'blk.0.ffn_down.weight', 'blk.0.attn_norm.weight', 'blk.0.ffn_norm.weight', 'output_norm.weight', 'output.weight']) {
      assert.ok(names.includes(n), n);
    }
    const onnx = readOnnxWeights(findOnnxFile(modelDir('lockstep-drafter-a')));
    const t = (n: string) => g.tensors.find((x) => x.name === n)!;
    assert.ok(bytes(t('token_embd.weight').data).equals(bytes(onnx.tensors.get('m.embed_tokens.weight')!.data)));
    assert.ok(bytes(t('output_norm.weight').data).equals(bytes(onnx.tensors.get('m.norm.weight')!.data)), 'the final norm, not a layer norm');
    assert.deepEqual(t('blk.0.ffn_up.weight').dims, [64, 192]);
    assert.equal(g.kv.get('llama.block_count'), 1);
    assert.equal((g.kv.get('tokenizer.ggml.tokens') as string[]).length, 4096);
    // node-llama-cpp's own reader agrees on the header and metadata.
    const { readGgufFileInfo } = await import('node-llama-cpp');
    const info = await readGgufFileInfo(file, { readTensorInfo: true });
    assert.equal(info.version, 3);
    assert.equal(info.metadata.general.architecture, 'llama');
    assert.equal(info.fullTensorInfo?.length, g.tensors.length);
  });

  it('llama.cpp on converted shipped models gives Lockstep\'s greedy token ids', async () => {
    const engine = await Engine.create({ target: modelDir('lockstep-target'), threads: 1 });
    try {
      const stop = new Set(engine.target.config.eosTokenIds);
      const prompts = heldoutPrompts(2, 11).map((p) => engine.promptFor({ before: p.before, after: p.after, maxTokens: 16 }));
      for (const name of ['lockstep-target', 'lockstep-drafter-b']) {
        const file = path.join(tmp, `${name}.gguf`);
        convertToGguf(modelDir(name), file);
        const peer = await LlamaPeer.load(file, 1, 512);
        try {
          const v = await validateModel(name, modelDir(name), peer, prompts, 16, stop, engine.tokenizer.vocabSize);
          assert.equal(v.identical, 2, `${name}: ${JSON.stringify(v.firstMismatch)}`);
          assert.ok(v.tokens > 0);
        } finally {
          await peer.dispose();
        }
      }
    } finally {
      await engine.dispose();
    }
  });
  it('converts the Qwen2.5-Coder-shaped stand-in (qwen2, q/k/v biases, external data) to the same greedy ids', async () => {
    const standin = generateStandin({ size: 'ci', variants: ['fp32'], out: path.join(tmp, 'standin'), seed: 0 });
    const file = path.join(tmp, 'standin.gguf');
    assert.equal(convertToGguf(standin.target, file).arch, 'qwen2');
    const g = readGguf(file);
    assert.equal(g.kv.get('general.architecture'), 'qwen2');
    assert.equal(g.kv.get('tokenizer.ggml.pre'), 'qwen2');
    for (const b of ['attn_q', 'attn_k', 'attn_v']) assert.ok(g.tensors.some((t) => t.name === `blk.1.${b}.bias`), b);
    assert.ok(!g.tensors.some((t) => t.name === 'blk.0.attn_output.bias'));
    // qwen2 rotates halves in llama.cpp too: Q is stored as exported (transposed back to [out][in]), not permuted.
    const onnx = readOnnxWeights(findOnnxFile(standin.target));
    const qt = [...onnx.tensors.values()].find((t) => t.name.endsWith('layers.0.self_attn.q_proj.weight_t'))!;
    const q = g.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!;
    assert.equal(q.data[1], qt.data[qt.dims[1]], 'row 0, column 1 = operand [1][0]');
    // Q4_0 (bench/peer-q4.ts on the 0.5B stand-in): the full 151 936-token vocabulary, the tied head's exported copy
    // as output.weight, every 2-D weight in 4 bits and the biases and norms in F32.
    const q4 = readGguf(convertToGguf(standin.target, path.join(tmp, 'standin-q4_0.gguf'), 'q4_0').file);
    assert.equal((q4.kv.get('tokenizer.ggml.tokens') as string[]).length, 151936);
    assert.deepEqual(q4.tensors.find((t) => t.name === 'output.weight')?.dims.at(-1), 151936);
    for (const t of q4.tensors) assert.equal(t.type, t.dims.length === 2 ? 2 : 0, t.name);
    const engine = await Engine.create({ target: standin.target, threads: 1 });
    const peer = await LlamaPeer.load(file, 1, 4096);
    try {
      const prompts = heldoutPrompts(2, 11).map((p) => engine.promptFor({ before: p.before, after: p.after, maxTokens: 12 }));
      const v = await validateModel('stand-in', standin.target, peer, prompts, 12, new Set(engine.target.config.eosTokenIds), engine.tokenizer.vocabSize);
      assert.equal(v.identical, 2, JSON.stringify(v.firstMismatch));
    } finally {
      await peer.dispose();
      await engine.dispose();
    }
  });
});
