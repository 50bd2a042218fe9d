/**
 * What a catalog file loads to: one bad entry of each kind next to the shipped ones leaves the others (and the bundled
 * models) working; a file that cannot be used at all is an error naming it, or (loadCatalogOrBundled) the shipped
 * models; catalogSummary's one message; and a valid downloadable entry with its files per variant.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CatalogError, bundledCatalog, catalogNotices, catalogSummary, defaultVariantOf, filesFor, isDownloadable, loadCatalog,
  loadCatalogOrBundled, packageRoot, resolveModelDir, validateCatalog,
} from '../../src/models/catalog';
import { bundledEntry, catalogOf, hubEntry, shipped } from '../helpers/catalogEntries';

const root = packageRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-catalog-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('catalog validation', () => {
  test('one bad entry of each kind in the shipped catalog: the other entries and the bundled models keep working', () => {
    const raw = shipped();
    const n = raw.models.length;
    const hub = (id: string, mutate: (e: any) => void) => {
      const e = { ...hubEntry(), id };
      mutate(e);
      return e;
    };
    const bad: [any, string][] = [
      [{ id: 'wrong-type', role: 'drafter', family: 7, bundled: 'models/lockstep-drafter-a' }, 'family'],
      [{ id: 'lockstep-drafter-a', role: 'drafter', family: 'lockstep-bpe4096', bundled: 'models/lockstep-drafter-b' }, 'id'],
      [{ id: 'etc', role: 'target', family: 'x', bundled: '../../../../../etc' }, 'bundled'],
      [{ id: 'etc-absolute', role: 'target', family: 'x', bundled: '/etc' }, 'bundled'],
      [{ id: 'etc-climbing', role: 'target', family: 'x', bundled: 'models/../../../../../../etc' }, 'bundled'],
      [hub('bad-variant-path', (e) => (e.variants.int8.files[0] = '../../../../.ssh/id_rsa')), 'variants.int8.files[0]'],
      [hub('bad-common-path', (e) => (e.files[1].path = '/etc/passwd')), 'files[1].path'],
      [hub('bad-default', (e) => (e.defaultVariant = 'fp64')), 'defaultVariant'],
      [hub('bad-device-variant', (e) => (e.deviceVariants = { cpu: 'fp64' })), 'deviceVariants.cpu'],
    ];
    raw.models.push(...bad.map(([e]) => e));
    raw.models[0].recommendedDrafters = ['lockstep-drafter-b', 'ghost', 'lockstep-drafter-a'];
    const c = validateCatalog(raw, path.join(root, 'models.json'));
    assert.deepEqual(c.models.map((m) => m.id), shipped().models.map((m: { id: string }) => m.id));
    assert.deepEqual(c.models[0].recommendedDrafters, ['lockstep-drafter-b', 'lockstep-drafter-a']);
    assert.equal(c.warnings.length, bad.length + 1, c.warnings.join('\n'));
    assert.match(c.warnings[0], /^models\.json: models\[0\] \(id "lockstep-target"\): field "recommendedDrafters" names "ghost"/);
    bad.forEach(([e, field], i) => {
      const w = c.warnings[i + 1];
      assert.ok(w.startsWith(`models.json: models[${n + i}] (id "${e.id}"): field "${field}" `), w);
      assert.ok(w.endsWith(' — entry skipped'), w);
    });
    assert.match(c.warnings[2], /field "id" repeats the id of models\[1\]/);
    assert.match(c.warnings[3], /field "bundled" must be a directory inside the models folder .*; it resolves to .*etc \(got "\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc"\)/);
    assert.match(c.warnings[4], /field "bundled" must be a directory inside the models folder .*, not an absolute path \(got "\/etc"\)/);
    // The bundled models resolve to their own directories; nothing resolves to /etc; downloadable ids still work.
    for (const id of ['lockstep-target', 'lockstep-drafter-a', 'lockstep-drafter-b']) {
      assert.equal(resolveModelDir(id, c), path.join(root, 'models', id));
    }
    for (const id of ['etc', 'etc-absolute', 'etc-climbing', 'wrong-type', 'bad-variant-path']) {
      assert.throws(() => resolveModelDir(id, c, root), new RegExp(`unknown model '${id}'`));
    }
    assert.throws(() => resolveModelDir('qwen2.5-coder-1.5b', c, root, { cacheDir: path.join(tmp, 'none') }), /is not downloaded/);
    // The same catalog from a file.
    const dir = path.join(tmp, 'each-kind');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'models.json'), JSON.stringify(raw));
    const fromFile = loadCatalog(path.join(dir, 'models.json'));
    assert.equal(fromFile.models.length, n);
    assert.equal(fromFile.warnings.length, bad.length + 1);
  });

  test('a catalog that cannot be used at all: an error naming the file, or (loadCatalogOrBundled) the shipped models', () => {
    const shippedBundled = loadCatalog().models.filter((m) => m.bundled !== undefined);
    const write = (name: string, text: string) => {
      const f = path.join(tmp, name);
      fs.writeFileSync(f, text);
      return f;
    };
    const broken: [string, RegExp][] = [
      [write('notjson.json', '{ "version": 1, "models": ['), /notjson\.json: not valid JSON/],
      [write('v2.json', JSON.stringify({ version: 2, models: [] })), /v2\.json: field "version" must be 1 \(got 2\)/],
      [write('shape.json', JSON.stringify([shipped()])), /shape\.json: the top level must be an object/],
      [path.join(tmp, 'absent.json'), /cannot read the model catalog .*absent\.json: ENOENT/],
    ];
    for (const [file, re] of broken) {
      assert.throws(() => loadCatalog(file), (e: Error) => e instanceof CatalogError && re.test(e.message), re.source);
      const c = loadCatalogOrBundled(file);
      assert.match(c.error ?? '', re);
      assert.deepEqual(c.models, shippedBundled);
      assert.deepEqual(c.warnings, []);
      for (const m of c.models) assert.equal(resolveModelDir(m.id, c), path.join(root, 'models', m.id));
      assert.equal(catalogNotices(c).length, 1);
      assert.match(catalogSummary(c)!, /^the model catalog cannot be used \(.*\): only the models shipped with Lockstep are available\.$/);
    }
    // The built-in list of shipped models is the shipped models.json's.
    assert.deepEqual(bundledCatalog('x').models, shippedBundled);
    assert.equal(loadCatalogOrBundled().error, undefined);
  });

  test('catalogSummary: one message for every warning, nothing for a clean catalog', () => {
    assert.equal(catalogSummary(loadCatalog()), undefined);
    const one = validateCatalog(catalogOf(bundledEntry(), { ...bundledEntry(), id: 'x', bundled: '/etc' }), '/x/models.json');
    assert.match(catalogSummary(one)!, /^1 problem in the model catalog: models\.json: models\[1\] \(id "x"\): field "bundled" .* — entry skipped\. The other models work\.$/);
    const three = validateCatalog(catalogOf(bundledEntry(), 1, 2, 3), '/x/models.json');
    assert.match(catalogSummary(three)!, /^3 problems in the model catalog: models\.json: models\[1\]: must be an object \(got 1\) — entry skipped \(and 2 more problems in the log\)\. The other models work\.$/);
  });

  test('a valid downloadable entry loads; unknown fields are kept; files per variant', () => {
    const c = validateCatalog(catalogOf(bundledEntry(), hubEntry()));
    const e = c.models[1];
    assert.equal(e.license, 'kept as is');
    assert.ok(isDownloadable(e) && !isDownloadable(c.models[0]));
    assert.equal(defaultVariantOf(e), 'q4f16');
    assert.deepEqual(filesFor(e).map((f) => [f.path, f.size, f.sha256, f.optional]), [
      ['config.json', null, null, false],
      ['tokenizer.json', 7031645, 'a'.repeat(64), false],
      ['generation_config.json', null, null, true],
      ['onnx/model_q4f16.onnx', null, null, false],
    ]);
    assert.deepEqual(filesFor(e, 'int8').map((f) => f.path).at(-1), 'onnx/model_int8.onnx');
    assert.throws(() => filesFor(e, 'fp64'), /model 'hub-model' has no variant "fp64" \(variants: q4f16, int8\)/);
  });
});
