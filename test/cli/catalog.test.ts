/**
 * The model catalog as the CLI meets it: the shipped catalog, a bad entry left out with one warning (and on stderr,
 * once per command, while the command still works), a bad file as an error, extra fields kept, and an entry that is
 * not downloaded reported so.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CatalogError, loadCatalog, packageRoot, resolveModelDir, validateCatalog, entryStatus, findEntry,
} from '../../src/models/catalog';
import { writeCatalogDir } from '../helpers/catalogDir';
import { assertOneLineError, run } from '../helpers/cli';

const root = packageRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('model catalog', () => {
  const write = (name: string, value: unknown) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };
  const good = () => JSON.parse(fs.readFileSync(path.join(root, 'models.json'), 'utf8'));

  test('the shipped catalog loads and every bundled model is present', () => {
    const c = loadCatalog();
    const bundled = c.models.filter((m) => m.bundled);
    assert.deepEqual(bundled.map((m) => m.id), ['lockstep-target', 'lockstep-drafter-a', 'lockstep-drafter-b']);
    for (const m of bundled) {
      const dir = resolveModelDir(m.id, c);
      assert.ok(fs.existsSync(path.join(dir, 'config.json')), dir);
    }
    assert.equal(resolveModelDir('models/lockstep-target', c, root), path.join(root, 'models', 'lockstep-target'));
    assert.throws(() => resolveModelDir('x', c), /unknown model 'x': not a catalog id \(known: lockstep-target, lockstep-drafter-a, lockstep-drafter-b[^)]*\) and not a directory/);
  });

  test('a bad entry is left out with one warning naming the entry and the field; a bad file is an error', () => {
    const n = good().models.length;
    const bad = (mutate: (c: any) => void, res: RegExp[], kept: number) => {
      const c = good();
      mutate(c);
      const got = loadCatalog(write('bad.json', c));
      assert.equal(got.warnings.length, res.length, got.warnings.join('\n'));
      res.forEach((re, i) => assert.match(got.warnings[i], re));
      assert.equal(got.models.length, kept, res[0].source);
    };
    // lockstep-target recommends both drafters: leaving one out also drops it from that list (a warning of its own).
    const dropped = (d: string, why: string) => new RegExp(`^bad\\.json: models\\[0\\] \\(id "lockstep-target"\\): field "recommendedDrafters" names "${d}", which ${why} — that drafter is dropped, the model is kept$`);
    bad((c) => delete c.models[1].role, [dropped('lockstep-drafter-a', 'is skipped \\(see its warning\\)'), /^bad\.json: models\[1\] \(id "lockstep-drafter-a"\): field "role" must be one of .* — entry skipped$/], n - 1);
    bad((c) => (c.models[2].family = 7), [dropped('lockstep-drafter-b', 'is skipped \\(see its warning\\)'), /models\[2\] \(id "lockstep-drafter-b"\): field "family" must be a non-empty string \(got 7\) — entry skipped/], n - 1);
    bad((c) => (c.models[0].id = 'has space'), [/^bad\.json: models\[0\]: field "id"/], n - 1);
    bad((c) => (c.models[2].id = 'lockstep-drafter-a'), [dropped('lockstep-drafter-b', 'is not in the catalog'), /models\[2\] \(id "lockstep-drafter-a"\): field "id" repeats the id of models\[1\]/], n - 1);
    bad((c) => (c.models[0].recommendedDrafters = ['ghost']), [dropped('ghost', 'is not in the catalog')], n);
    bad((c) => (c.models[0].bundled = ''), [/models\[0\] \(id "lockstep-target"\): field "bundled"/], n - 1);
    bad((c) => (c.models[0].bundled = '../../../../../etc'), [/models\[0\] \(id "lockstep-target"\): field "bundled" must be a directory inside the models folder/], n - 1);
    const refused = (mutate: (c: any) => void, re: RegExp) => {
      const c = good();
      mutate(c);
      assert.throws(() => loadCatalog(write('bad.json', c)), (e: Error) => e instanceof CatalogError && re.test(e.message), re.source);
    };
    refused((c) => (c.version = 2), /field "version" must be 1/);
    refused((c) => (c.models = {}), /field "models" must be an array/);
    assert.throws(() => loadCatalog(write('notjson.json', '{ nope')), /not valid JSON/);
    assert.throws(() => loadCatalog(path.join(tmp, 'absent.json')), /cannot read the model catalog/);
  });

  test('extra fields are kept; an entry without "bundled" is reported as not downloaded', async () => {
    const c = good();
    c.models.push({
      id: 'qwen2.5-coder-0.5b', role: 'target', family: 'qwen2.5', repo: 'onnx-community/Qwen2.5-Coder-0.5B-Instruct',
      commit: 'abc', files: ['onnx/model_q4f16.onnx'], sha256: { 'onnx/model_q4f16.onnx': '0'.repeat(64) },
    });
    const file = writeCatalogDir(path.join(tmp, 'hub'), c);
    const cat = loadCatalog(file);
    assert.deepEqual(cat.warnings, []);
    const q = findEntry(cat, 'qwen2.5-coder-0.5b')!;
    assert.deepEqual(q.files, ['onnx/model_q4f16.onnx']);
    assert.equal(q.name, 'qwen2.5-coder-0.5b');
    assert.equal(entryStatus(cat, q).available, false);
    assert.throws(() => resolveModelDir('qwen2.5-coder-0.5b', cat), /model 'qwen2\.5-coder-0\.5b' is not downloaded — run `lockstep download qwen2\.5-coder-0\.5b`/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--catalog', file, '--target', 'qwen2.5-coder-0.5b'), /not downloaded — run `lockstep download/);
    // The rest of the catalog still works.
    assert.equal(validateCatalog(c, file).models.length, good().models.length + 1);
  });

  test('a bad entry in a catalog given to the CLI: one warning line each on stderr, once; the command still works', async () => {
    const c = good();
    c.models[1].recommendedDrafters = 'lockstep-drafter-b';
    c.models.push({ id: 'etc', role: 'target', family: 'x', bundled: '../../../../../etc' });
    const file = writeCatalogDir(path.join(tmp, 'cli-bad'), c);
    const r = await run('complete', '--prefix', 'function f(x) {\n  return ', '--max-tokens', '4', '--json', '--catalog', file);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('lockstep: warning: '));
    assert.equal(warnings.length, 3, r.stderr);
    assert.match(warnings[0], /^lockstep: warning: models\.json: models\[0\] \(id "lockstep-target"\): field "recommendedDrafters" names "lockstep-drafter-a", which is skipped/);
    assert.match(warnings[1], /^lockstep: warning: models\.json: models\[1\] \(id "lockstep-drafter-a"\): field "recommendedDrafters" must be an array .* — entry skipped$/);
    assert.match(warnings[2], /^lockstep: warning: models\.json: models\[\d+\] \(id "etc"\): field "bundled" must be a directory inside the models folder .* — entry skipped$/);
    // The target's remaining recommended drafter drafts.
    assert.equal(JSON.parse(r.stdout).drafter, 'lockstep-drafter-b');
    // The entry left out is unknown, not read from /etc (the warnings come again: another command).
    const etc = await run('complete', '--prefix', 'x', '--catalog', file, '--target', 'etc');
    assert.notEqual(etc.code, 0);
    const lines = etc.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.filter((l) => l.startsWith('lockstep: warning: ')).length, 3, etc.stderr);
    assert.deepEqual(lines.filter((l) => !l.startsWith('lockstep: warning: ')), [`lockstep: target: unknown model 'etc': not a catalog id (known: lockstep-target, lockstep-drafter-b, qwen2.5-coder-1.5b, qwen2.5-coder-0.5b-instruct, qwen2.5-coder-3b-instruct) and not a directory`]);
    // A catalog file that cannot be used at all is an error when named with --catalog.
    assertOneLineError(await run('complete', '--prefix', 'x', '--catalog', write('cli-notjson.json', '{ nope')), /cli-notjson\.json: not valid JSON/);
  });
});
