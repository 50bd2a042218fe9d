/**
 * What docs/security.md says about model files relies on onnxruntime: an .onnx file's
 * external-data locations cannot make it read outside the model's folder (absolute paths, "..", symbolic links), while
 * the Hugging Face cache layout (snapshot files that are links into blobs/) still loads. Lockstep does not inspect
 * .onnx files beyond what src/engine/runtime/fastQ4.ts needs (node list, external-data locations), so this pins the behaviour
 * of the onnxruntime-node version in package.json.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-extdata-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Protobuf wire format, varint and length-delimited fields only. */
class Proto {
  private readonly out: number[] = [];
  private raw(v: number): void {
    for (; v >= 0x80; v = Math.floor(v / 0x80)) this.out.push((v % 0x80) | 0x80);
    this.out.push(v);
  }
  varint(field: number, v: number): this {
    this.raw(field << 3);
    this.raw(v);
    return this;
  }
  bytes(field: number, b: Uint8Array | string): this {
    const data = typeof b === 'string' ? Buffer.from(b) : b;
    this.raw((field << 3) | 2);
    this.raw(data.length);
    this.out.push(...data);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** A model whose one int64 initializer W[1] lives in external data at `location`, and whose output Y = Identity(W). */
function modelWithExternalData(location: string): Uint8Array {
  const entry = (k: string, v: string) => new Proto().bytes(1, k).bytes(2, v).done();
  const tensor = new Proto().varint(1, 1).varint(2, 7).bytes(8, 'W')
    .bytes(13, entry('location', location)).bytes(13, entry('offset', '0')).bytes(13, entry('length', '8')).varint(14, 1).done();
  const node = new Proto().bytes(1, 'W').bytes(2, 'Y').bytes(3, 'n').bytes(4, 'Identity').done();
  const shape = new Proto().bytes(1, new Proto().varint(1, 1).done()).done();
  const type = new Proto().bytes(1, new Proto().varint(1, 7).bytes(2, shape).done()).done();
  const output = new Proto().bytes(1, 'Y').bytes(2, type).done();
  const graph = new Proto().bytes(1, node).bytes(2, 'g').bytes(5, tensor).bytes(12, output).done();
  const opset = new Proto().bytes(1, '').varint(2, 13).done();
  return new Proto().varint(1, 8).bytes(2, 'lockstep-test').bytes(7, graph).bytes(8, opset).done();
}

function int64File(file: string, v: bigint): void {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(v);
  fs.writeFileSync(file, b);
}

async function load(file: string): Promise<bigint> {
  const s = await ort.InferenceSession.create(file);
  try {
    return (await s.run({})).Y.data[0] as bigint;
  } finally {
    await s.release();
  }
}

describe('onnxruntime and external data', () => {
  test('a location outside the model folder is refused: "..", absolute, or through a symbolic link', async () => {
    const dir = path.join(tmp, 'model');
    fs.mkdirSync(dir, { recursive: true });
    int64File(path.join(tmp, 'secret.bin'), 666n);
    int64File(path.join(dir, 'weights.bin'), 42n);
    fs.symlinkSync('../secret.bin', path.join(dir, 'link.bin'));
    const model = path.join(dir, 'model.onnx');
    fs.writeFileSync(model, modelWithExternalData('weights.bin'));
    assert.equal(await load(model), 42n);
    for (const location of ['../secret.bin', path.join(tmp, 'secret.bin'), 'link.bin']) {
      fs.writeFileSync(model, modelWithExternalData(location));
      await assert.rejects(load(model), /External data path|external data/i, location);
    }
  });

  test('the Hugging Face cache layout (snapshot files linking into blobs/) loads', async () => {
    const repo = path.join(tmp, 'models--org--name');
    const snap = path.join(repo, 'snapshots', 'c'.repeat(40), 'onnx');
    fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    fs.mkdirSync(snap, { recursive: true });
    fs.writeFileSync(path.join(repo, 'blobs', 'a'.repeat(64)), modelWithExternalData('model.onnx_data'));
    int64File(path.join(repo, 'blobs', 'b'.repeat(64)), 7n);
    fs.symlinkSync(path.join('..', '..', '..', 'blobs', 'a'.repeat(64)), path.join(snap, 'model.onnx'));
    fs.symlinkSync(path.join('..', '..', '..', 'blobs', 'b'.repeat(64)), path.join(snap, 'model.onnx_data'));
    assert.equal(await load(path.join(snap, 'model.onnx')), 7n);
  });
});
