import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CALL_RULES, DeviceEnvironment, autoOrder, describeOutcome, deviceCandidates, executionProviders, likelyDevice } from '../../../src/engine/runtime/device';
import { probeDevices } from '../../../src/engine/runtime/deviceProbe';

function env(over: Partial<DeviceEnvironment> = {}): DeviceEnvironment {
  return {
    platform: 'linux',
    arch: 'x64',
    backends: [
      { name: 'cpu', bundled: true },
      { name: 'webgpu', bundled: true },
      { name: 'cuda', bundled: false },
    ],
    binaryDir: undefined,
    gpuDeviceNode: false,
    libraryDirs: [],
    ...over,
  };
}

/** A fake onnxruntime binary folder and library folder, with the given files in them. */
function fakeDirs(binFiles: string[], libFiles: string[]): { binaryDir: string; libraryDirs: string[] } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-device-'));
  const bin = path.join(root, 'bin');
  const lib = path.join(root, 'lib');
  fs.mkdirSync(bin);
  fs.mkdirSync(lib);
  for (const f of binFiles) fs.writeFileSync(path.join(bin, f), '');
  for (const f of libFiles) fs.writeFileSync(path.join(lib, f), '');
  return { binaryDir: bin, libraryDirs: [lib] };
}

test('auto on a Linux machine without a GPU: CPU only, and the log says why CUDA and WebGPU were passed over', () => {
  const c = deviceCandidates('auto', env());
  assert.deepEqual(c.order, ['cpu']);
  assert.equal(c.skipped.length, 2);
  assert.match(c.skipped[0], /^cuda: onnxruntime-node's CUDA provider .* is not installed; to enable CUDA: .*ONNXRUNTIME_NODE_INSTALL=1 node node_modules\/onnxruntime-node\/script\/install/);
  assert.match(c.skipped[1], /^webgpu: no GPU device node/);
});

test('auto with a GPU device node tries WebGPU before the CPU; with CUDA fully installed, CUDA first', () => {
  assert.deepEqual(deviceCandidates('auto', env({ gpuDeviceNode: true })).order, ['webgpu', 'cpu']);
  const cuda = fakeDirs(['libonnxruntime_providers_cuda.so'], ['libcudart.so.12', 'libcublas.so.12', 'libcudnn.so.9']);
  assert.deepEqual(deviceCandidates('auto', env({ gpuDeviceNode: true, ...cuda })).order, ['cuda', 'webgpu', 'cpu']);
});

test('CUDA provider installed but CUDA libraries missing: names the missing libraries and how to enable it', () => {
  const partial = fakeDirs(['libonnxruntime_providers_cuda.so'], ['libcudart.so.12']);
  const c = deviceCandidates('cuda', env(partial));
  assert.deepEqual(c.order, ['cpu']);
  assert.match(c.skipped[0], /^cuda: CUDA libraries not found \(libcublas\.so\.12, libcudnn\.so\.9\); to enable CUDA/);
});

test('a device named in the settings is tried even without a device node; one this build lacks is refused with why', () => {
  assert.deepEqual(deviceCandidates('webgpu', env()).order, ['webgpu', 'cpu']);
  const dml = deviceCandidates('dml', env());
  assert.deepEqual(dml.order, ['cpu']);
  assert.deepEqual(dml.skipped, ['dml: onnxruntime-node on linux-x64 has no dml execution provider']);
  assert.deepEqual(deviceCandidates('cpu', env()), { order: ['cpu'], skipped: [] });
});

test('auto order per platform ends with the CPU; providers list the CPU after a GPU provider', () => {
  for (const p of ['linux', 'win32', 'darwin'] as const) assert.equal(autoOrder(p).at(-1), 'cpu');
  assert.deepEqual(autoOrder('win32'), ['cuda', 'dml', 'webgpu', 'cpu']);
  assert.deepEqual(autoOrder('darwin'), ['coreml', 'webgpu', 'cpu']);
  assert.deepEqual(executionProviders('webgpu'), ['webgpu', 'cpu']);
  assert.deepEqual(executionProviders('cpu'), ['cpu']);
});

test('exactness rules: the CPU pads to two tokens; WebGPU aligns and pads to four with the KV cache on the device', () => {
  assert.deepEqual(CALL_RULES.cpu, { minTokensPerCall: 2, tokenMultiple: 1, align: 1, kvLocation: 'cpu' });
  assert.deepEqual(CALL_RULES.webgpu, { minTokensPerCall: 4, tokenMultiple: 4, align: 4, kvLocation: 'gpu-buffer' });
  assert.equal(CALL_RULES.cuda.kvLocation, 'cpu');
});

test('this process: onnxruntime-node offers the CPU and WebGPU providers', () => {
  const names = probeDevices().backends.map((b) => b.name);
  assert.ok(names.includes('cpu') && names.includes('webgpu'), names.join(','));
});

test('describeOutcome says the device, the variant and why others were not used', () => {
  assert.equal(describeOutcome({ requested: 'cpu', used: 'cpu', fellBack: false, notes: [] }), 'device cpu');
  assert.equal(
    describeOutcome({ requested: 'webgpu', used: 'cpu', variant: 'q4', fellBack: true, notes: ['webgpu: No supported adapters'] }),
    'device cpu, variant q4 (asked: webgpu); webgpu: No supported adapters',
  );
});

test('likelyDevice (what to download before anything is loaded): a named device, or the CPU for auto on a Linux box without a GPU', () => {
  assert.equal(likelyDevice('webgpu', 'linux', false), 'webgpu');
  assert.equal(likelyDevice('cpu', 'win32', true), 'cpu');
  assert.equal(likelyDevice('auto', 'linux', false), 'cpu');
  assert.equal(likelyDevice('auto', 'linux', true), undefined);
  assert.equal(likelyDevice('auto', 'darwin', true), undefined);
});
