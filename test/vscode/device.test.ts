/**
 * What the extension says about the device (src/vscode/deviceNotice.ts): the one notice per engine load when the
 * device asked for is not used, the log line, the status tooltip; and that the extension host never loads
 * onnxruntime-node (the engine process does).
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeOutcome, type DeviceOutcome } from '../../src/engine/runtime/device';
import { describeDevice, deviceNotice, deviceSummary } from '../../src/vscode/deviceNotice';
import { statusTooltip, type StatusInfo } from '../../src/vscode/format';
import { downloadVariant } from '../../src/vscode/download';
import { findEntry, loadCatalog, packageRoot } from '../../src/models/catalog';

const WEBGPU_FAILED = 'webgpu: failed to create a WebGPU device (no adapter)';
const CUDA_ABSENT = "cuda: onnxruntime-node's CUDA provider (libonnxruntime_providers_cuda.so) is not installed; to enable CUDA: …";
const NO_NODE = 'webgpu: no GPU device node was found (/dev/dri/renderD*, /dev/nvidia*); WebGPU would run on a software adapter slower than the CPU';

const outcome = (o: Partial<DeviceOutcome>): DeviceOutcome => ({ requested: 'auto', used: 'cpu', fellBack: false, notes: [], ...o });

describe('deviceNotice', () => {
  test('auto fell back to the CPU after a GPU provider failed: a notice naming the device and why', () => {
    const n = deviceNotice(outcome({ requested: 'auto', used: 'cpu', fellBack: true, notes: [CUDA_ABSENT, WEBGPU_FAILED] }));
    assert.equal(n, `Lockstep runs on the CPU: ${CUDA_ABSENT}; ${WEBGPU_FAILED}`);
  });

  test('auto passed over providers this machine cannot use (nothing failed): logged only, no notice', () => {
    assert.equal(deviceNotice(outcome({ requested: 'auto', used: 'cpu', fellBack: false, notes: [CUDA_ABSENT, NO_NODE] })), undefined);
    assert.equal(deviceNotice(outcome({ requested: 'auto', used: 'webgpu', fellBack: false, notes: [CUDA_ABSENT] })), undefined);
    assert.equal(deviceNotice(outcome({ requested: 'auto', used: 'cpu' })), undefined);
  });

  test('auto landed on WebGPU after CUDA failed: a notice saying WebGPU runs', () => {
    const n = deviceNotice(outcome({ requested: 'auto', used: 'webgpu', variant: 'q4f16', fellBack: true, notes: ['cuda: CUDA failure 100'] }));
    assert.equal(n, 'Lockstep runs on WebGPU: cuda: CUDA failure 100');
  });

  test('the CPU asked for: never a notice', () => {
    assert.equal(deviceNotice(outcome({ requested: 'cpu', used: 'cpu' })), undefined);
    assert.equal(deviceNotice(outcome({ requested: 'cpu', used: 'cpu', fellBack: true, notes: ['cpu: odd'] })), undefined);
  });

  test('WebGPU asked for and fell back to the CPU: a notice naming both and why', () => {
    const n = deviceNotice(outcome({ requested: 'webgpu', used: 'cpu', variant: 'q4', fellBack: true, notes: [WEBGPU_FAILED] }));
    assert.equal(n, `Lockstep runs on the CPU instead of WebGPU: ${WEBGPU_FAILED}`);
    const dml = deviceNotice(outcome({ requested: 'dml', used: 'cpu', fellBack: true, notes: ['dml: onnxruntime-node on linux-x64 has no dml execution provider'] }));
    assert.match(dml!, /^Lockstep runs on the CPU instead of DirectML: dml: onnxruntime-node on linux-x64 has no dml/);
  });

  test('a named device that works: no notice', () => {
    assert.equal(deviceNotice(outcome({ requested: 'webgpu', used: 'webgpu', variant: 'q4f16' })), undefined);
    assert.equal(deviceNotice(outcome({ requested: 'cuda', used: 'cuda', variant: 'fp16' })), undefined);
  });
});

describe('the device in the log and the status tooltip', () => {
  const cases: DeviceOutcome[] = [
    outcome({ requested: 'auto', used: 'cpu', notes: [CUDA_ABSENT, NO_NODE] }),
    outcome({ requested: 'webgpu', used: 'webgpu', variant: 'q4f16' }),
    outcome({ requested: 'webgpu', used: 'cpu', variant: 'q4', fellBack: true, notes: [WEBGPU_FAILED] }),
    outcome({ requested: 'cpu', used: 'cpu' }),
  ];

  test('the log line is the engine\'s describeOutcome', () => {
    for (const o of cases) assert.equal(describeDevice(o), describeOutcome(o));
  });

  test('the tooltip says the device used, its variant, and what was asked when it differs', () => {
    assert.deepEqual(cases.map(deviceSummary), [
      'cpu (asked: auto; the log says why)',
      'webgpu, variant q4f16',
      'cpu, variant q4 (asked: webgpu; the log says why)',
      'cpu',
    ]);
    const info: StatusInfo = {
      enabled: true, state: { kind: 'ready' }, target: 't', drafter: 'd', seed: 0, seedOverridden: false, coupling: 'gumbel',
    };
    assert.ok(!statusTooltip(info).includes('Device:'));
    assert.match(statusTooltip({ ...info, device: cases[1] }), /\nDevice: webgpu, variant q4f16\n/);
  });
});

test('the extension host does not load onnxruntime-node (only the engine process does)', () => {
  // Follows the relative require()s of the compiled extension from its entry point.
  const start = path.join(__dirname, '..', '..', 'src', 'vscode', 'extension.js');
  const seen = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/require\("([^"]+)"\)/g)) {
      const spec = m[1];
      if (spec.startsWith('.')) visit(require.resolve(path.resolve(path.dirname(file), spec)));
      else external.add(spec);
    }
  };
  visit(start);
  assert.ok(seen.size > 5, [...seen].join('\n'));
  assert.ok(!external.has('onnxruntime-node'), `reached onnxruntime-node from: ${[...seen].join(', ')}`);
  assert.ok(![...seen].some((f) => f.endsWith(path.join('engine', 'runtime', 'deviceProbe.js'))), 'the extension host reached src/engine/runtime/deviceProbe.ts, which loads onnxruntime-node');
});

test('Download Models fetches the variant for the likely device: q4 for the CPU, q4f16 for WebGPU, the default when unknown', () => {
  const catalog = loadCatalog(path.join(packageRoot(), 'models.json'));
  const qwen = findEntry(catalog, 'qwen2.5-coder-1.5b')!;
  assert.equal(downloadVariant(qwen, 'cpu'), 'q4');
  assert.equal(downloadVariant(qwen, 'webgpu'), 'q4f16');
  assert.equal(downloadVariant(qwen, 'cuda'), 'fp16');
  assert.equal(downloadVariant(qwen, undefined), undefined);
  const bundled = findEntry(catalog, 'lockstep-target')!;
  assert.equal(downloadVariant(bundled, 'cpu'), undefined);
});
