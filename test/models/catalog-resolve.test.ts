/**
 * Resolving model ids through the Hugging Face cache: "not downloaded" with the command to run, a complete snapshot
 * (refs/main) with the default variant first, the per-device variants downloaded, the cache location as
 * huggingface_hub finds it, and local directories as model specs.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  downloadedDeviceVariants, entryStatus, filesFor, findDownloaded, loadCatalog, packageRoot, resolveModel, resolveModelDir,
} from '../../src/models/catalog';
import { defaultModelsDir, hfHubCacheDir, repoFolderName } from '../../src/models/hubCache';

const root = packageRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-catalog-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('resolving downloadable ids', () => {
  const catalog = loadCatalog();
  const id = 'qwen2.5-coder-0.5b-instruct';
  const entry = catalog.models.find((m) => m.id === id)!;

  test('not in the cache: "not downloaded — run `lockstep download <id>`"', () => {
    const cacheDir = path.join(tmp, 'empty');
    const expected = `model '${id}' is not downloaded — run \`lockstep download ${id}\` (or the Download Models command)`;
    assert.throws(() => resolveModelDir(id, catalog, root, { cacheDir }), (e: Error) => e.message === expected);
    assert.throws(() => resolveModelDir(id, catalog, root, { cacheDir, variant: 'int8' }), /\(variant int8\) is not downloaded — run `lockstep download qwen2\.5-coder-0\.5b-instruct --variant int8`/);
    assert.throws(() => resolveModelDir(id, catalog, root, { cacheDir, variant: 'fp64' }), /has no variant "fp64"/);
    assert.equal(entryStatus(catalog, entry, { cacheDir }).available, false);
  });

  test('complete in the cache (refs/main → snapshot): resolves to the snapshot, default variant first', () => {
    const cacheDir = path.join(tmp, 'hub');
    const commit = 'f'.repeat(40);
    const repoDir = path.join(cacheDir, repoFolderName(entry.repo!));
    const put = (p: string) => {
      const f = path.join(repoDir, 'snapshots', commit, ...p.split('/'));
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, p.endsWith('.json') ? '{}' : 'onnx');
    };
    fs.mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repoDir, 'refs', 'main'), `${commit}\n`);
    for (const f of filesFor(entry, 'int8')) if (!f.path.endsWith('_data')) put(f.path);
    // int8 is whole except for its optional external data, whose absence is not yet recorded.
    assert.equal(findDownloaded(entry, { cacheDir }), undefined);
    const marker = path.join(repoDir, '.no_exist', commit, 'onnx', 'model_int8.onnx_data');
    fs.mkdirSync(path.dirname(marker), { recursive: true });
    fs.writeFileSync(marker, '');
    const snap = path.join(repoDir, 'snapshots', commit);
    // int8 is marked "exact": false: used only when asked for by name.
    assert.equal(findDownloaded(entry, { cacheDir }), undefined);
    assert.deepEqual(resolveModel(id, catalog, root, { cacheDir, variant: 'int8' }), { dir: snap, entry, variant: 'int8' });
    put('onnx/model_q4f16.onnx');
    fs.writeFileSync(path.join(repoDir, '.no_exist', commit, 'onnx', 'model_q4f16.onnx_data'), '');
    assert.deepEqual(resolveModel(id, catalog, root, { cacheDir }), { dir: snap, entry, variant: 'q4f16' });
    // The default variant (q4) wins once it is there too.
    put('onnx/model_q4.onnx');
    fs.writeFileSync(path.join(repoDir, '.no_exist', commit, 'onnx', 'model_q4.onnx_data'), '');
    assert.equal(resolveModel(id, catalog, root, { cacheDir }).variant, 'q4');
    assert.equal(resolveModel(id, catalog, root, { cacheDir, variant: 'int8' }).variant, 'int8');
    // The environment decides the default models directory.
    assert.equal(resolveModelDir(id, catalog, root, { env: { HF_HUB_CACHE: cacheDir } }), snap);
    assert.equal(resolveModelDir(id, catalog, root, { env: { HF_HOME: path.join(tmp, 'home'), LOCKSTEP_MODELS_DIR: cacheDir } }), snap);
  });

  test('downloadedDeviceVariants: only the per-device variants complete in the resolved snapshot', () => {
    const cacheDir = path.join(tmp, 'hub-devices');
    const commit = 'e'.repeat(40);
    const repoDir = path.join(cacheDir, repoFolderName(entry.repo!));
    const snap = path.join(repoDir, 'snapshots', commit);
    fs.mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repoDir, 'refs', 'main'), `${commit}\n`);
    const download = (variant: string) => {
      for (const f of filesFor(entry, variant)) {
        const p = path.join(snap, ...f.path.split('/'));
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, f.path.endsWith('.json') ? '{}' : 'onnx');
      }
    };
    assert.deepEqual(downloadedDeviceVariants(entry, snap, { cacheDir }), {});
    download('q4f16');
    assert.deepEqual(downloadedDeviceVariants(entry, snap, { cacheDir }), { webgpu: 'q4f16' });
    download('q4');
    assert.deepEqual(downloadedDeviceVariants(entry, snap, { cacheDir }), { cpu: 'q4', webgpu: 'q4f16' });
    download('fp16');
    assert.deepEqual(downloadedDeviceVariants(entry, snap, { cacheDir }), { cpu: 'q4', webgpu: 'q4f16', cuda: 'fp16', dml: 'fp16', coreml: 'fp16' });
    // Another directory (a copy, an older snapshot) is not where these variants were found.
    assert.deepEqual(downloadedDeviceVariants(entry, path.join(tmp, 'elsewhere'), { cacheDir }), {});
    // Bundled models have no deviceVariants.
    const bundled = catalog.models.find((m) => m.bundled !== undefined)!;
    assert.deepEqual(downloadedDeviceVariants(bundled, path.join(root, bundled.bundled!), { cacheDir }), {});
  });

  test('the cache location follows huggingface_hub (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, ~/.cache)', () => {
    assert.equal(hfHubCacheDir({ HF_HUB_CACHE: '/a/b', HF_HOME: '/c' }), path.resolve('/a/b'));
    assert.equal(hfHubCacheDir({ HF_HOME: '/c' }), path.resolve('/c/hub'));
    assert.equal(hfHubCacheDir({ XDG_CACHE_HOME: '/x' }), path.resolve('/x/huggingface/hub'));
    assert.equal(hfHubCacheDir({}), path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
    assert.equal(hfHubCacheDir({ HF_HOME: '~/hf' }), path.join(os.homedir(), 'hf', 'hub'));
    assert.equal(defaultModelsDir({ LOCKSTEP_MODELS_DIR: '/m', HF_HUB_CACHE: '/a' }), path.resolve('/m'));
    assert.equal(repoFolderName('onnx-community/Qwen2.5-Coder-1.5B'), 'models--onnx-community--Qwen2.5-Coder-1.5B');
  });

  test('a local directory in the Hugging Face layout still works as a model spec', () => {
    assert.equal(resolveModelDir('models/lockstep-drafter-a', catalog, root), path.join(root, 'models', 'lockstep-drafter-a'));
    assert.throws(() => resolveModelDir('./nowhere', catalog, root), /unknown model '\.\/nowhere'/);
  });
});
