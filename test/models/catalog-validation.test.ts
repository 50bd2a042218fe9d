/**
 * Validation of single catalog entries: a bad entry is left out with one warning that names the entry (index and id)
 * and the field, the other entries load; the rules across fields and entries; and models.schema.json agrees with the
 * loader on good and bad examples and uses the loader's patterns.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { CATALOG_DEVICES, Catalog, CatalogError, PATTERNS, packageRoot, validateCatalog } from '../../src/models/catalog';
import { DEVICES } from '../../src/engine/runtime/device';
import { bundledEntry, catalogOf, hubEntry, shipped } from '../helpers/catalogEntries';
import { schema, valid } from '../helpers/modelsSchema';

const root = packageRoot();

/**
 * What the loader makes of a catalog: 'accepted' (every entry loads, no warning), 'refused' (CatalogError: the file
 * cannot be used at all), or 'entry skipped' (the loader left out exactly one entry, with exactly one warning).
 */
function loaderVerdict(c: unknown): 'accepted' | 'refused' | 'entry skipped' | string {
  let got: Catalog;
  try {
    got = validateCatalog(c, path.join(root, 'models.json'));
  } catch (e) {
    if (!(e instanceof CatalogError)) throw e;
    return 'refused';
  }
  const n = (c as { models: unknown[] }).models.length;
  if (got.models.length === n && got.warnings.length === 0) return 'accepted';
  if (got.models.length === n - 1 && got.warnings.length === 1) return 'entry skipped';
  return `${got.models.length} of ${n} entries kept, warnings: ${got.warnings.join(' | ')}`;
}

/** Mutations of one hub entry that both the schema and the loader must refuse, with the field the message names. */
const BAD: [string, (e: any) => void, string][] = [
  ['repo without org', (e) => (e.repo = 'Model'), 'repo'],
  ['repo with "--"', (e) => (e.repo = 'org/a--b'), 'repo'],
  ['commit with a space', (e) => (e.commit = 'my branch'), 'commit'],
  ['commit with ".." part', (e) => (e.commit = 'refs/../x'), 'commit'],
  ['no commit', (e) => delete e.commit, 'commit'],
  ['neither files nor variants', (e) => (delete e.files, delete e.variants, delete e.defaultVariant), 'files'],
  ['neither bundled nor repo', (e) => (delete e.repo, delete e.commit), 'bundled'],
  ['sha256 too short', (e) => (e.files[1].sha256 = 'abc'), 'files[1].sha256'],
  ['sha256 upper case', (e) => (e.files[1].sha256 = 'A'.repeat(64)), 'files[1].sha256'],
  ['size negative', (e) => (e.files[1].size = -1), 'files[1].size'],
  ['size fractional', (e) => (e.variants.q4f16.files[0].size = 1.5), 'variants.q4f16.files[0].size'],
  ['size as a string', (e) => (e.files[1].size = '7 MB'), 'files[1].size'],
  ['a file without path', (e) => (e.files[1] = { size: 3 }), 'files[1].path'],
  ['a misspelt file field', (e) => (e.files[1].sha = 'x'), 'files[1].sha'],
  ['a path going up', (e) => (e.files[0] = '../secrets.json'), 'files[0]'],
  ['an absolute path', (e) => (e.files[0] = '/etc/passwd'), 'files[0]'],
  ['an absolute path in a file object', (e) => (e.files[1].path = '/etc/passwd'), 'files[1].path'],
  ['a backslash path', (e) => (e.files[0] = 'onnx\\model.onnx'), 'files[0]'],
  ['a Windows drive path', (e) => (e.files[0] = 'C:/Windows/win.ini'), 'files[0]'],
  ['an empty path part', (e) => (e.files[0] = 'onnx//model.onnx'), 'files[0]'],
  ['a "." part', (e) => (e.variants.int8.files[0] = 'onnx/./model_int8.onnx'), 'variants.int8.files[0]'],
  ['a variant path going up', (e) => (e.variants.int8.files[0] = 'onnx/../../../../.ssh/id_rsa'), 'variants.int8.files[0]'],
  ['an absolute variant path', (e) => (e.variants.q4f16.files[0].path = '/etc/passwd'), 'variants.q4f16.files[0].path'],
  ['a "..." part (Windows drops trailing dots)', (e) => (e.variants.int8.files[0] = 'onnx/.../model_int8.onnx'), 'variants.int8.files[0]'],
  ['a part ending in a space', (e) => (e.files[0] = 'onnx /config.json'), 'files[0]'],
  ['files not an array', (e) => (e.files = 'config.json'), 'files'],
  ['variants empty', (e) => ((e.variants = {}), delete e.defaultVariant), 'variants'],
  ['variant name upper case', (e) => ((e.variants.Q4 = e.variants.int8), delete e.variants.int8), 'variants.Q4'],
  ['variant without files', (e) => (e.variants.int8 = { approxBytes: 3 }), 'variants.int8.files'],
  ['variant with empty files', (e) => (e.variants.int8.files = []), 'variants.int8.files'],
  ['a misspelt variant field', (e) => (e.variants.int8.file = []), 'variants.int8.file'],
  ['optional not boolean', (e) => (e.files[2].optional = 'yes'), 'files[2].optional'],
  ['verify unknown', (e) => (e.verify = 'later'), 'verify'],
  ['defaultVariant without variants', (e) => delete e.variants, 'defaultVariant'],
  ['deviceVariants not an object', (e) => (e.deviceVariants = 'q4f16'), 'deviceVariants'],
  ['deviceVariants empty', (e) => (e.deviceVariants = {}), 'deviceVariants'],
  ['deviceVariants with an unknown device', (e) => (e.deviceVariants = { cpu: 'int8', tpu: 'int8' }), 'deviceVariants.tpu'],
  ['deviceVariants with "auto" (a request, not a device)', (e) => (e.deviceVariants = { auto: 'int8' }), 'deviceVariants.auto'],
  ['deviceVariants naming an upper-case variant', (e) => (e.deviceVariants = { cpu: 'INT8' }), 'deviceVariants.cpu'],
  ['deviceVariants with a non-string variant', (e) => (e.deviceVariants = { webgpu: 4 }), 'deviceVariants.webgpu'],
  ['deviceVariants without variants', (e) => (delete e.variants, delete e.defaultVariant, (e.deviceVariants = { cpu: 'int8' })), 'deviceVariants'],
  ['exact: true (only false is a label; the rest is probed)', (e) => (e.variants.int8.exact = true), 'variants.int8.exact'],
  ['exact: false without the reason', (e) => (e.variants.int8.exact = false), 'variants.int8.inexact'],
  ['a reason without exact: false', (e) => (e.variants.int8.inexact = 'one scale per call'), 'variants.int8.inexact'],
];

/** Mutations of a bundled entry that both the schema and the loader must refuse (all name "bundled"). */
const BAD_BUNDLED: [string, (e: any) => void][] = [
  ['bundled going up to /etc', (e) => (e.bundled = '../../../../../etc')],
  ['bundled absolute', (e) => (e.bundled = '/etc')],
  ['bundled a Windows absolute path', (e) => (e.bundled = 'C:\\Windows\\System32')],
  ['bundled climbing out of models/', (e) => (e.bundled = 'models/../../../../../etc')],
  ['bundled the models folder itself', (e) => (e.bundled = 'models')],
  ['bundled next to models/, not in it', (e) => (e.bundled = 'src')],
  ['bundled with backslashes', (e) => (e.bundled = 'models\\..\\..\\etc')],
  ['bundled empty', (e) => (e.bundled = '')],
  ['bundled not a string', (e) => (e.bundled = ['models/lockstep-drafter-a'])],
];

/** Every bad single entry: [what, the entry, the field its warning names]. */
const BAD_ENTRIES: [string, () => any, string][] = [
  ...BAD.map(([what, mutate, field]): [string, () => any, string] => [what, () => { const e = hubEntry(); mutate(e); return e; }, field]),
  ...BAD_BUNDLED.map(([what, mutate]): [string, () => any, string] => [what, () => { const e = bundledEntry(); mutate(e); return e; }, 'bundled']),
];

describe('catalog validation', () => {
  test('a bad entry is left out with ONE warning naming the entry (index and id) and the field; the other entries load', () => {
    for (const [what, make, field] of BAD_ENTRIES) {
      const bad = make();
      const good = bad.id === 'small' ? hubEntry() : bundledEntry();
      const c = validateCatalog(catalogOf(good, bad), '/x/models.json');
      assert.deepEqual(c.models.map((m) => m.id), [good.id], what);
      assert.equal(c.warnings.length, 1, `${what}: ${c.warnings.join(' | ')}`);
      const w = c.warnings[0];
      assert.ok(w.startsWith(`models.json: models[1] (id "${bad.id}"): field `), `${what}: ${w}`);
      assert.ok(w.includes(`field "${field}"`), `${what}: ${w}`);
      assert.ok(w.endsWith(' — entry skipped') && !w.includes('\n'), `${what}: ${w}`);
    }
    // Several problems in one entry: still one warning, naming every field.
    const e = hubEntry() as any;
    e.role = 'judge';
    e.files[0] = '../x';
    const c = validateCatalog(catalogOf(e, bundledEntry()), '/x/models.json');
    assert.deepEqual(c.models.map((m) => m.id), ['small']);
    assert.equal(c.warnings.length, 1);
    assert.match(c.warnings[0], /^models\.json: models\[0\] \(id "hub-model"\): field "role" must be one of .*; field "files\[0\]" must be a relative path .* — entry skipped$/);
    // Rules across fields and entries (code only; the schema cannot say them).
    const cases: [(c: any) => void, RegExp, string[]][] = [
      [(c) => (c.models[1].defaultVariant = 'fp16'), /models\[1\] \(id "hub-model"\): field "defaultVariant" must name one of the variants \(q4f16, int8\) \(got "fp16"\) — entry skipped/, ['small']],
      [(c) => c.models[1].variants.int8.files.push('config.json'), /field "variants\.int8\.files" lists "config\.json" twice \(with "files"\)/, ['small']],
      [(c) => c.models[1].files.push('config.json'), /field "files" lists "config\.json" twice/, ['small']],
      [(c) => (c.models[1].verify = 'pinned'), /field "verify" is "pinned" but the commit is not a 40-hex commit; pin it, or use "on-first-download"/, ['small']],
      [(c) => ((c.models[1].verify = 'pinned'), (c.models[1].commit = 'c'.repeat(40))), /field "verify" is "pinned" but "config\.json" has no size or sha256/, ['small']],
      [(c) => (c.models[1].deviceVariants = { cpu: 'int8', webgpu: 'fp16' }), /models\[1\] \(id "hub-model"\): field "deviceVariants\.webgpu" must name one of the variants \(q4f16, int8\) \(got "fp16"\)/, ['small']],
      // A variant that can never be exact is never chosen automatically.
      [(c) => (Object.assign(c.models[1].variants.int8, { exact: false, inexact: 'one scale per call' }), (c.models[1].deviceVariants = { cpu: 'int8' })), /field "deviceVariants\.cpu" must not be a variant marked "exact": false \(it is never chosen automatically\) \(got "int8"\)/, ['small']],
      [(c) => (Object.assign(c.models[1].variants.int8, { exact: false, inexact: 'one scale per call' }), (c.models[1].defaultVariant = 'int8')), /field "defaultVariant" must not be a variant marked "exact": false \(got "int8"\)/, ['small']],
      // The later of two entries with one id is the one left out.
      [(c) => c.models.push({ ...bundledEntry(), name: 'again' }), /^models\.json: models\[2\] \(id "small"\): field "id" repeats the id of models\[0\] \(got "small"\) — entry skipped$/, ['small', 'hub-model']],
      // A recommended drafter that is unusable is dropped; the target stays.
      [(c) => (c.models[1].recommendedDrafters = ['small']), /^models\.json: models\[1\] \(id "hub-model"\): field "recommendedDrafters" names "small" of family "fam", not this model's "qwen2\.5-coder" — that drafter is dropped, the model is kept$/, ['small', 'hub-model']],
      [(c) => (c.models[1].recommendedDrafters = ['ghost']), /field "recommendedDrafters" names "ghost", which is not in the catalog — that drafter is dropped/, ['small', 'hub-model']],
    ];
    for (const [mutate, re, ids] of cases) {
      const cat = catalogOf(bundledEntry(), hubEntry());
      mutate(cat);
      const got = validateCatalog(cat, '/x/models.json');
      assert.equal(got.warnings.length, 1, got.warnings.join(' | '));
      assert.match(got.warnings[0], re);
      assert.deepEqual(got.models.map((m) => m.id), ids, re.source);
    }
    // A dropped drafter leaves the others, in order; a skipped one is named as such.
    const t = { ...hubEntry(), id: 't', recommendedDrafters: ['d1', 'ghost', 'd2', 'broken', 'tt'] };
    const d = (id: string) => ({ ...hubEntry(), id, role: 'drafter' });
    const got = validateCatalog(catalogOf(t, d('d1'), d('d2'), { ...d('broken'), role: 'judge' }, { ...hubEntry(), id: 'tt' }), '/x/models.json');
    assert.deepEqual(got.models.map((m) => m.id), ['t', 'd1', 'd2', 'tt']);
    assert.deepEqual(got.models[0].recommendedDrafters, ['d1', 'd2']);
    assert.equal(got.warnings.length, 2);
    assert.match(got.warnings[0], /models\[0\] \(id "t"\): field "recommendedDrafters" names "ghost", which is not in the catalog; names "broken", which is skipped \(see its warning\); names "tt", whose role is "target" — those drafters are dropped, the model is kept$/);
    assert.match(got.warnings[1], /models\[3\] \(id "broken"\): field "role"/);
    // Only a catalog that is not {version: 1, models: [...]} is refused as a whole.
    for (const raw of [[], 'x', null, { version: 2, models: [] }, { version: 1 }, { version: 1, models: {} }]) {
      assert.throws(() => validateCatalog(raw, '/x/models.json'), (err: Error) => err instanceof CatalogError && /^models\.json: /.test(err.message), JSON.stringify(raw));
    }
    // An entry that is not an object, or has no usable id, is named by its index.
    const odd = validateCatalog(catalogOf('hub-model', { ...bundledEntry(), id: 'has space' }, bundledEntry()), '/x/models.json');
    assert.deepEqual(odd.models.map((m) => m.id), ['small']);
    assert.deepEqual(odd.warnings, [
      'models.json: models[0]: must be an object (got "hub-model") — entry skipped',
      'models.json: models[1]: field "id" must be a non-empty string of letters, digits, ".", "_" or "-" (got "has space") — entry skipped',
    ]);
  });

  test('models.schema.json and the loader agree on good and bad examples', () => {
    // Agreement: the schema accepts a catalog exactly when the loader loads every entry without a warning. Where the
    // schema refuses one bad entry, the loader must leave out exactly that entry (one warning); where it refuses the
    // catalog's shape, the loader must refuse the whole file.
    const good: unknown[] = [
      shipped(),
      catalogOf(bundledEntry(), hubEntry()),
      catalogOf({ ...hubEntry(), commit: '0123456789abcdef0123456789abcdef01234567' }),
      catalogOf({ id: 'p', role: 'target', family: 'f', repo: 'a/b', commit: '0123456789abcdef0123456789abcdef01234567', verify: 'pinned', files: [{ path: 'config.json', size: 2, sha256: '4'.repeat(64) }] }),
      catalogOf({ id: 'x', role: 'both', family: 'f', repo: 'a/b', commit: 'refs/pr/1', files: ['config.json'] }),
      catalogOf({ ...bundledEntry(), parameters: 5, anything: { nested: true } }),
      catalogOf({ ...bundledEntry(), bundled: 'models/not-shipped/yet' }),
      catalogOf({ ...hubEntry(), files: ['.gitattributes', 'onnx/.hidden', 'a.b/c-d_e f.json'] }),
      catalogOf({ ...hubEntry(), deviceVariants: { cpu: 'int8', webgpu: 'q4f16', cuda: 'q4f16', dml: 'int8', coreml: 'int8' } }),
      catalogOf({ ...hubEntry(), deviceVariants: { webgpu: 'q4f16' } }),
    ];
    for (const [i, c] of good.entries()) {
      assert.equal(valid(schema, c), true, `schema refuses good example ${i}`);
      assert.equal(loaderVerdict(c), 'accepted', `loader on good example ${i}`);
    }
    const badEntries: [string, unknown][] = BAD_ENTRIES.map(([what, make]) => [what, catalogOf(make())]);
    badEntries.push(
      ['an entry that is a string', catalogOf('hub-model')],
      ['bad id', catalogOf({ ...bundledEntry(), id: 'has space' })],
      ['bad role', catalogOf({ ...bundledEntry(), role: 'judge' })],
      ['empty family', catalogOf({ ...bundledEntry(), family: '' })],
      ['empty name', catalogOf({ ...bundledEntry(), name: '' })],
      ['drafters not an array', catalogOf({ ...bundledEntry(), recommendedDrafters: 'small' })],
    );
    for (const [what, c] of badEntries) {
      assert.equal(valid(schema, c), false, `schema accepts bad example: ${what}`);
      assert.equal(loaderVerdict(c), 'entry skipped', `loader on bad example: ${what}`);
      // The same entry next to a good one: the good one still loads, for the schema's per-entry rule as for the loader.
      const withGood = catalogOf(bundledEntry().id === (c as any).models[0]?.id ? hubEntry() : bundledEntry(), (c as any).models[0]);
      assert.equal(loaderVerdict(withGood), 'entry skipped', `loader on bad example next to a good one: ${what}`);
    }
    const badShape: [string, unknown][] = [
      ['version 2', { version: 2, models: [] }],
      ['no version', { models: [] }],
      ['models not an array', { version: 1, models: {} }],
      ['no models', { version: 1 }],
      ['top level an array', []],
      ['top level a string', 'models'],
    ];
    for (const [what, c] of badShape) {
      assert.equal(valid(schema, c), false, `schema accepts bad example: ${what}`);
      assert.equal(loaderVerdict(c), 'refused', `loader on bad example: ${what}`);
    }
  });

  test('the schema uses the loader\'s patterns', () => {
    const defs = schema as any;
    const entry = defs.definitions.entry.properties;
    assert.equal(entry.id.pattern, PATTERNS.id);
    assert.equal(entry.repo.pattern, PATTERNS.repo);
    assert.equal(entry.commit.pattern, PATTERNS.revision);
    assert.equal(entry.variants.propertyNames.pattern, PATTERNS.variant);
    assert.equal(entry.defaultVariant.pattern, PATTERNS.variant);
    assert.equal(defs.definitions.file.oneOf[0].pattern, PATTERNS.filePath);
    assert.equal(defs.definitions.file.oneOf[1].properties.path.pattern, PATTERNS.filePath);
    assert.equal(entry.bundled.pattern, PATTERNS.bundled);
    assert.equal(entry.languages.items.pattern, PATTERNS.language);
    assert.equal(defs.definitions.file.oneOf[1].properties.sha256.pattern, PATTERNS.sha256);
    assert.equal(defs.definitions.variantName.pattern, PATTERNS.variant);
    // deviceVariants: the schema's keys, the loader's and the engine's devices are the same list.
    assert.deepEqual(Object.keys(entry.deviceVariants.properties), [...CATALOG_DEVICES]);
    assert.deepEqual([...CATALOG_DEVICES], [...DEVICES]);
    for (const p of Object.values(PATTERNS)) new RegExp(p, 'u'); // valid with the u flag editors use
  });
});
