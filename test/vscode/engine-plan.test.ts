/** Settings → engine plan, and the model pickers' choices (src/vscode/enginePlan.ts), on the shipped catalog. */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { filesFor, findEntry, isDownloadable, loadCatalog, packageRoot, type Catalog } from '../../src/models/catalog';
import { repoFolderName } from '../../src/models/hubCache';
import {
  autoDrafter, checkDrafterModel, downloadChoices, drafterChoices, planEngine, resolveDrafter, resolveTarget,
  targetChoices, verifyDrafters, type ModelEnv,
} from '../../src/vscode/enginePlan';
import { engineCovers } from '../../src/engine/process/engineOptions';
import { DEFAULT_SETTINGS } from '../../src/vscode/settings';

const root = packageRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-vscode-models-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const catalog = loadCatalog();
const env: ModelEnv = { catalog, cacheDir: path.join(tmp, 'cache'), baseDir: tmp };
const target = resolveTarget('lockstep-target', env);

function withDownloadable(): ModelEnv {
  const c: Catalog = { ...catalog, models: [...catalog.models, {
    id: 'hub-drafter', name: 'A drafter on the Hub', role: 'drafter', family: 'lockstep-bpe4096', repo: 'org/hub-drafter', commit: 'main',
  }] };
  return { ...env, catalog: c };
}

/** A models directory (Hugging Face layout, refs/main → one snapshot) with these variants of these catalog models. */
function cacheWith(name: string, downloads: Record<string, string[]>): ModelEnv {
  const cacheDir = path.join(tmp, name);
  const commit = 'd'.repeat(40);
  for (const [id, variants] of Object.entries(downloads)) {
    const entry = findEntry(catalog, id)!;
    const repoDir = path.join(cacheDir, repoFolderName(entry.repo!));
    fs.mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repoDir, 'refs', 'main'), `${commit}\n`);
    for (const v of variants) {
      for (const f of filesFor(entry, v)) {
        const file = path.join(repoDir, 'snapshots', commit, ...f.path.split('/'));
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, f.path.endsWith('.json') ? '{}' : 'onnx');
      }
    }
  }
  return { ...env, cacheDir };
}

describe('targets', () => {
  test('a catalog id resolves to its bundled directory', () => {
    assert.equal(target.dir, path.join(root, 'models', 'lockstep-target'));
    assert.equal(target.entry?.id, 'lockstep-target');
    assert.equal(target.label, 'lockstep-target');
  });
  test('a directory (relative to the workspace) is found and recognised as the catalog model', () => {
    const t = resolveTarget(path.relative(tmp, path.join(root, 'models', 'lockstep-target')), env);
    assert.equal(t.entry?.id, 'lockstep-target');
  });
  test('an unknown target throws a message for the user', () => {
    assert.throws(() => resolveTarget('no-such-model', env), /unknown model 'no-such-model'/);
  });
  test('targetChoices lists target-capable catalog models', () => {
    const ids = targetChoices(env).map((c) => c.spec);
    assert.ok(ids.includes('lockstep-target'));
    assert.ok(!ids.includes('lockstep-drafter-a'));
    assert.ok(targetChoices(env, '/my/model').some((c) => c.spec === '/my/model'));
  });
});

describe('drafters', () => {
  test('auto = the engine\'s auto drafter, with the first recommended available drafter model loaded for it', () => {
    const d = autoDrafter(target, env);
    assert.equal(d.request, 'auto');
    assert.equal(d.load?.name, catalog.models.find((m) => m.id === 'lockstep-target')!.recommendedDrafters![0]);
  });
  test('auto without its recommended drafter model downloaded says so (for the log), instead of falling back silently', () => {
    const qwen = cacheWith('auto-detail', { 'qwen2.5-coder-1.5b': ['q4'] });
    const d = autoDrafter(resolveTarget('qwen2.5-coder-1.5b', qwen), qwen);
    assert.equal(d.label, 'auto (prompt-lookup)');
    assert.equal(d.load, undefined);
    assert.match(d.detail ?? '', /prompt lookup only — qwen2\.5-coder-1\.5b's recommended drafter model qwen2\.5-coder-0\.5b-instruct is not downloaded/);
    assert.equal(autoDrafter(target, env).detail, undefined);
  });
  test('builtin drafters need no model', () => {
    assert.deepEqual(resolveDrafter('none', target, env), { spec: 'none', request: 'none', label: 'none' });
    assert.deepEqual(resolveDrafter('prompt-lookup', target, env), { spec: 'prompt-lookup', request: 'prompt-lookup', label: 'prompt-lookup' });
  });
  test('a catalog drafter and its prompt-lookup pair', () => {
    const a = resolveDrafter('lockstep-drafter-a', target, env);
    assert.equal(a.request, 'lockstep-drafter-a');
    assert.equal(a.load?.dir, path.join(root, 'models', 'lockstep-drafter-a'));
    const la = resolveDrafter('prompt-lookup+lockstep-drafter-a', target, env);
    assert.equal(la.request, 'prompt-lookup+lockstep-drafter-a');
    assert.equal(la.load?.name, 'lockstep-drafter-a');
    assert.equal(la.problem, undefined);
  });
  test('a drafter directory is recognised as its catalog model', () => {
    const d = resolveDrafter(path.join(root, 'models', 'lockstep-drafter-b'), target, env);
    assert.equal(d.request, 'lockstep-drafter-b');
  });
  test('unusable drafters fall back to auto with a problem message', () => {
    for (const spec of ['no-such-drafter', 'prompt-lookup+', 'lockstep-target', 'hub-drafter']) {
      const d = resolveDrafter(spec, target, withDownloadable());
      assert.ok(d.problem, spec);
      assert.match(d.problem!, /cannot be used/);
      assert.equal(d.request, autoDrafter(target, env).request);
    }
  });
  test('a local model with another tokenizer is refused', () => {
    const dir = path.join(tmp, 'other-model');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ model: { vocab: { a: 0 } }, added_tokens: [] }));
    const c = checkDrafterModel(dir, target, env);
    assert.equal(c.ok, false);
    assert.match(c.reason!, /tokenizer/);
  });
  test('a local copy of a drafter (outside the catalog) is accepted by its tokenizer', () => {
    const dir = path.join(tmp, 'copy-of-a');
    fs.cpSync(path.join(root, 'models', 'lockstep-drafter-a'), dir, { recursive: true });
    const d = resolveDrafter(dir, target, env);
    assert.equal(d.problem, undefined);
    assert.equal(d.request, dir);
    assert.equal(d.label, 'copy-of-a');
  });
  test('Choose Drafter offers auto, none, prompt-lookup and every compatible drafter (and its lookup pair)', () => {
    const specs = drafterChoices(target, withDownloadable()).map((c) => `${c.spec}${c.available ? '' : ' (download)'}`);
    assert.deepEqual(specs.slice(0, 3), ['auto', 'none', 'prompt-lookup']);
    for (const s of ['lockstep-drafter-a', 'lockstep-drafter-b', 'prompt-lookup+lockstep-drafter-a', 'prompt-lookup+lockstep-drafter-b', 'hub-drafter (download)']) {
      assert.ok(specs.includes(s), `${s} in ${specs.join(', ')}`);
    }
    assert.ok(!specs.includes('lockstep-target'));
  });
  test('Download Models offers downloadable models that are not complete in the cache', () => {
    // The cache directory is empty: every downloadable catalog model is offered, bundled ones never.
    const hub = catalog.models.filter((m) => isDownloadable(m)).map((m) => m.id);
    assert.deepEqual(downloadChoices(env).map((e) => e.id), hub);
    assert.deepEqual(downloadChoices(withDownloadable()).map((e) => e.id), [...hub, 'hub-drafter']);
    assert.ok(!downloadChoices(env).some((e) => e.bundled));
  });
  test('Verify compares none, prompt-lookup and every drafter with and without lookup', () => {
    const v = verifyDrafters(target, env).map((d) => d.request).sort();
    assert.deepEqual(v, ['lockstep-drafter-a', 'lockstep-drafter-b', 'none', 'prompt-lookup', 'prompt-lookup+lockstep-drafter-a', 'prompt-lookup+lockstep-drafter-b']);
  });
});

describe('planEngine', () => {
  test('options for the engine: target, the chosen drafter, the device setting as it is, FIM from the catalog', () => {
    const p = planEngine({ ...DEFAULT_SETTINGS, drafter: 'lockstep-drafter-a', device: 'cuda', threads: 2 }, env);
    assert.equal(p.options.target, target.dir);
    assert.deepEqual(p.options.drafters?.map((d) => d.name), ['lockstep-drafter-a']);
    assert.equal(p.options.device, 'cuda');
    assert.equal(p.options.threads, 2);
    assert.equal(p.options.fim, 'lockstep');
    assert.deepEqual(p.notes, []);
    // Bundled models have one model.onnx: no variant, no per-device variants.
    assert.equal(p.options.variant, undefined);
    assert.equal(p.options.variants, undefined);
    assert.equal(p.options.drafters?.[0].variants, undefined);
    for (const device of ['auto', 'cpu', 'webgpu', 'dml', 'coreml'] as const) {
      assert.equal(planEngine({ ...DEFAULT_SETTINGS, device }, env).options.device, device);
    }
  });

  test('lockstep.fastQuantizedKernels off reaches the engine as fastQuantizedKernels: false; on (default) adds nothing', () => {
    assert.equal(planEngine(DEFAULT_SETTINGS, env).options.fastQuantizedKernels, undefined);
    const off = planEngine({ ...DEFAULT_SETTINGS, fastQuantizedKernels: false }, env);
    assert.equal(off.options.fastQuantizedKernels, false);
    assert.notEqual(off.key, planEngine(DEFAULT_SETTINGS, env).key, 'turning it off reloads the models');
  });
  test('lockstep.fusedOperators off reaches the engine as fusedOps: false; on (default) adds nothing', () => {
    assert.equal(planEngine(DEFAULT_SETTINGS, env).options.fusedOps, undefined);
    const off = planEngine({ ...DEFAULT_SETTINGS, fusedOperators: false }, env);
    assert.equal(off.options.fusedOps, false);
    assert.notEqual(off.key, planEngine(DEFAULT_SETTINGS, env).key, 'turning it off reloads the models');
  });
  test('the device is part of the plan\'s key: changing it restarts the engine', () => {
    const cpu = planEngine({ ...DEFAULT_SETTINGS, device: 'cpu' }, env);
    const gpu = planEngine({ ...DEFAULT_SETTINGS, device: 'webgpu' }, env);
    assert.notEqual(cpu.key, gpu.key);
    assert.equal(engineCovers(cpu.options, gpu.options), false);
  });
  test('per-device variants of a downloaded target and drafter: the downloaded ones; a device whose variant is missing says so', () => {
    const e = cacheWith('cache-qwen', {
      'qwen2.5-coder-1.5b': ['q4f16', 'q4'],
      'qwen2.5-coder-0.5b-instruct': ['q4f16'],
    });
    const p = planEngine({ ...DEFAULT_SETTINGS, target: 'qwen2.5-coder-1.5b', drafter: 'auto', device: 'cpu' }, e);
    assert.equal(p.options.device, 'cpu');
    assert.equal(p.options.variant, 'q4');
    assert.deepEqual(p.options.variants, { cpu: 'q4', webgpu: 'q4f16' });
    // fp16 (cuda, dml, coreml) is not downloaded: those devices are skipped with the message, not given q4.
    assert.deepEqual(Object.keys(p.options.missingVariants ?? {}), ['cuda', 'dml', 'coreml']);
    assert.match(p.options.missingVariants!.cuda!, /its variant for cuda, fp16, is not downloaded \(q4 is, .*\) — run `lockstep download qwen2\.5-coder-1\.5b --variant fp16`, or set lockstep\.targetVariant/);
    // A drafter's variant changes only the speed: it keeps the one downloaded.
    assert.deepEqual(p.options.drafters, [{
      name: 'qwen2.5-coder-0.5b-instruct', dir: p.options.drafters![0].dir, variant: 'q4f16', variants: { webgpu: 'q4f16' },
    }]);
    const named = planEngine({ ...DEFAULT_SETTINGS, target: 'qwen2.5-coder-1.5b', drafter: 'prompt-lookup+qwen2.5-coder-0.5b-instruct', device: 'cpu' }, e);
    assert.deepEqual(named.options.drafters?.[0].variants, { webgpu: 'q4f16' });
    const loads = verifyDrafters(p.target, e).flatMap((d) => (d.load ? [d.load] : []));
    assert.ok(loads.length > 0 && loads.every((l) => JSON.stringify(l.variants) === JSON.stringify({ webgpu: 'q4f16' })));
  });
  test('only q4f16 downloaded and the CPU asked for: the plan fails naming q4 and the download command, not silently q4f16', () => {
    const e = cacheWith('cache-q4f16', { 'qwen2.5-coder-1.5b': ['q4f16'] });
    assert.throws(
      () => planEngine({ ...DEFAULT_SETTINGS, target: 'qwen2.5-coder-1.5b', drafter: 'none', device: 'cpu' }, e),
      (err: Error) => err.message === "model 'qwen2.5-coder-1.5b': its variant for cpu, q4, is not downloaded (q4f16 is, but it is not the one measured " +
        'exact on cpu) — run `lockstep download qwen2.5-coder-1.5b --variant q4`, or set lockstep.targetVariant to a downloaded variant',
    );
    // Asked for by name, q4f16 is used on every device (the exactness probe then decides drafting).
    const asked = planEngine({ ...DEFAULT_SETTINGS, target: 'qwen2.5-coder-1.5b', targetVariant: 'q4f16', drafter: 'none', device: 'cpu' }, e);
    assert.equal(asked.options.variant, 'q4f16');
    assert.equal(asked.options.variants, undefined);
    assert.equal(asked.options.missingVariants, undefined);
    assert.deepEqual(asked.notes, []);
    // A variant the model lacks, or one not downloaded: a note, and the automatic choice (here: the CPU's q4 is missing).
    const bad = planEngine({ ...DEFAULT_SETTINGS, target: 'qwen2.5-coder-1.5b', targetVariant: 'fp64', drafter: 'none', device: 'webgpu' }, e);
    assert.deepEqual(bad.notes, ['setting "lockstep.targetVariant" is "fp64" but model \'qwen2.5-coder-1.5b\' has no variant "fp64" (variants: fp32, fp16, q4, q4f16, int8); using the automatic choice']);
    assert.equal(bad.options.variant, 'q4f16');
    assert.deepEqual(bad.options.variants, { webgpu: 'q4f16' });
  });
  test('a new download changes the plan (the engine restarts onto the better variant)', () => {
    const before = planEngine({ ...DEFAULT_SETTINGS, target: 'qwen2.5-coder-1.5b', drafter: 'none', device: 'webgpu' }, cacheWith('cache-grow', { 'qwen2.5-coder-1.5b': ['q4f16'] }));
    const after = planEngine({ ...DEFAULT_SETTINGS, target: 'qwen2.5-coder-1.5b', drafter: 'none', device: 'webgpu' }, cacheWith('cache-grow', { 'qwen2.5-coder-1.5b': ['q4'] }));
    assert.deepEqual(before.options.variants, { webgpu: 'q4f16' });
    assert.deepEqual(after.options.variants, { cpu: 'q4', webgpu: 'q4f16' });
    assert.equal(engineCovers(before.options, after.options), false);
  });
  test('targetVariant and drafterVariant on model folders: used when the file is there, else a note and the automatic choice', () => {
    const folder = fs.mkdtempSync(path.join(tmp, 'folder-'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(target.dir, f), path.join(folder, f));
    fs.mkdirSync(path.join(folder, 'onnx'));
    for (const f of ['model.onnx', 'model_q4.onnx']) fs.writeFileSync(path.join(folder, 'onnx', f), 'onnx');
    const q4 = planEngine({ ...DEFAULT_SETTINGS, target: folder, targetVariant: 'q4', drafter: 'lockstep-drafter-a', drafterVariant: 'fp32' }, env);
    assert.equal(q4.options.variant, 'q4');
    assert.deepEqual(q4.options.drafters?.[0], { name: 'lockstep-drafter-a', dir: path.join(root, 'models', 'lockstep-drafter-a'), variant: 'fp32' });
    assert.deepEqual(q4.notes, []);
    const missing = planEngine({ ...DEFAULT_SETTINGS, target: folder, targetVariant: 'int8', drafter: 'lockstep-drafter-a', drafterVariant: 'q4' }, env);
    assert.equal(missing.options.variant, undefined);
    assert.deepEqual(missing.notes, [
      `setting "lockstep.targetVariant" is "int8" but ${folder} has no onnx/model_int8.onnx (variants there: fp32, q4); using the automatic choice`,
      `setting "lockstep.drafterVariant" is "q4" but ${path.join(root, 'models', 'lockstep-drafter-a')} has no onnx/model_q4.onnx (variants there: fp32); drafter lockstep-drafter-a keeps its automatic variant`,
    ]);
    assert.notEqual(q4.key, missing.key);
  });
  test('extra drafters (Verify) are loaded besides the chosen one', () => {
    const loads = verifyDrafters(target, env).flatMap((d) => (d.load ? [d.load] : []));
    const p = planEngine({ ...DEFAULT_SETTINGS, drafter: 'none' }, env, loads);
    assert.deepEqual(p.options.drafters?.map((d) => d.name), ['lockstep-drafter-a', 'lockstep-drafter-b']);
    assert.equal(p.drafter.request, 'none');
  });
  test('engineCovers: same target and options with a superset of drafters needs no restart', () => {
    const small = planEngine({ ...DEFAULT_SETTINGS, drafter: 'lockstep-drafter-a' }, env).options;
    const none = planEngine({ ...DEFAULT_SETTINGS, drafter: 'prompt-lookup' }, env).options;
    const big = planEngine({ ...DEFAULT_SETTINGS, drafter: 'lockstep-drafter-b' }, env, [small.drafters![0]]).options;
    assert.equal(engineCovers(big, small), true);
    assert.equal(engineCovers(small, none), true);
    assert.equal(engineCovers(small, big), false);
    assert.equal(engineCovers(small, { ...small, threads: 3 }), false);
    // The same drafter with other per-device variants is another model on some device.
    const other = { ...small, drafters: small.drafters!.map((d) => ({ ...d, variants: { cpu: 'q4' } })) };
    assert.equal(engineCovers(small, other), false);
  });
  test('a bad target throws; a bad drafter is a note', () => {
    assert.throws(() => planEngine({ ...DEFAULT_SETTINGS, target: 'nope' }, env));
    const p = planEngine({ ...DEFAULT_SETTINGS, drafter: 'nope' }, env);
    assert.equal(p.notes.length, 1);
  });
});
