/**
 * The model catalog: validation messages that name the entry and the field, agreement between models.schema.json
 * and the loader's validation, the shipped models.json, and resolving downloadable ids through the cache.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CATALOG_DEVICES, Catalog, CatalogError, PATTERNS, bundledCatalog, catalogNotices, catalogSummary, defaultVariantOf,
  downloadedDeviceVariants, entryStatus, filesFor, findDownloaded, isDownloadable, loadCatalog, loadCatalogOrBundled, packageRoot,
  resolveModel, resolveModelDir, validateCatalog,
} from '../src/models/catalog';
import { DEVICES } from '../src/engine/device';
import { defaultModelsDir, hfHubCacheDir, repoFolderName } from '../src/models/hubCache';
import { onnxFileFor } from '../src/engine/modelDir';

const root = packageRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-catalog-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const schema = JSON.parse(fs.readFileSync(path.join(root, 'models.schema.json'), 'utf8')) as Schema;
const shipped = () => JSON.parse(fs.readFileSync(path.join(root, 'models.json'), 'utf8'));

// ---------------------------------------------------------------- a small JSON Schema (draft-07) evaluator
// Enough for the keywords models.schema.json uses; an unknown keyword fails loudly so the test cannot pass vacuously.

type Schema = boolean | { [k: string]: unknown };
const KNOWN = new Set([
  '$schema', '$ref', 'title', 'description', 'type', 'const', 'enum', 'pattern', 'minLength', 'minimum', 'required',
  'properties', 'additionalProperties', 'propertyNames', 'minProperties', 'items', 'minItems', 'anyOf', 'oneOf', 'allOf',
  'not', 'dependencies', 'definitions',
]);

function typeOk(v: unknown, t: string): boolean {
  switch (t) {
    case 'null': return v === null;
    case 'boolean': return typeof v === 'boolean';
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'array': return Array.isArray(v);
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    default: throw new Error(`unknown type ${t}`);
  }
}

function valid(s: Schema, v: unknown, rootSchema: Schema = schema): boolean {
  if (s === true) return true;
  if (s === false) return false;
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) throw new Error(`schema keyword ${k} not supported by the test evaluator`);
  const sub = (x: unknown, val: unknown) => valid(x as Schema, val, rootSchema);
  if (typeof s.$ref === 'string') {
    const m = /^#\/definitions\/(.+)$/.exec(s.$ref);
    if (!m) throw new Error(`unsupported $ref ${s.$ref}`);
    if (!sub(((rootSchema as Record<string, Record<string, unknown>>).definitions)[m[1]], v)) return false;
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeOk(v, t))) return false;
  }
  if ('const' in s && JSON.stringify(s.const) !== JSON.stringify(v)) return false;
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) return false;
  if (typeof v === 'string') {
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) return false;
    if (typeof s.minLength === 'number' && [...v].length < s.minLength) return false;
  }
  if (typeof v === 'number' && typeof s.minimum === 'number' && v < s.minimum) return false;
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) return false;
    if (s.items !== undefined && !v.every((x) => sub(s.items, x))) return false;
  }
  if (typeOk(v, 'object')) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (Array.isArray(s.required) && !s.required.every((k) => k in o)) return false;
    if (typeof s.minProperties === 'number' && keys.length < s.minProperties) return false;
    if (s.propertyNames !== undefined && !keys.every((k) => sub(s.propertyNames, k))) return false;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const k of keys) {
      if (k in props) {
        if (!sub(props[k], o[k])) return false;
      } else if (s.additionalProperties !== undefined && !sub(s.additionalProperties, o[k])) {
        return false;
      }
    }
    for (const [k, dep] of Object.entries((s.dependencies ?? {}) as Record<string, unknown>)) {
      if (!(k in o)) continue;
      if (Array.isArray(dep) ? !dep.every((d) => d in o) : !sub(dep, o)) return false;
    }
  }
  if (Array.isArray(s.allOf) && !s.allOf.every((x) => sub(x, v))) return false;
  if (Array.isArray(s.anyOf) && !s.anyOf.some((x) => sub(x, v))) return false;
  if (Array.isArray(s.oneOf) && s.oneOf.filter((x) => sub(x, v)).length !== 1) return false;
  if (s.not !== undefined && sub(s.not, v)) return false;
  return true;
}

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

// ---------------------------------------------------------------- examples

const hubEntry = () => ({
  id: 'hub-model', role: 'target', family: 'qwen2.5-coder', repo: 'org/Model-1.5B', commit: 'main', verify: 'on-first-download',
  files: ['config.json', { path: 'tokenizer.json', size: 7031645, sha256: 'a'.repeat(64) }, { path: 'generation_config.json', optional: true }],
  variants: { q4f16: { approxBytes: 10, files: [{ path: 'onnx/model_q4f16.onnx', size: null, sha256: null }] }, int8: { files: ['onnx/model_int8.onnx'] } },
  defaultVariant: 'q4f16', license: 'kept as is',
});
const catalogOf = (...models: unknown[]) => ({ version: 1, models });
const bundledEntry = () => ({ id: 'small', role: 'drafter', family: 'fam', bundled: 'models/lockstep-drafter-a' });

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

  test('bundled: symbolic links may not lead out of the models folder', () => {
    const dir = path.join(tmp, 'links');
    const models = path.join(dir, 'models');
    const outside = path.join(tmp, 'outside');
    fs.mkdirSync(path.join(models, 'real'), { recursive: true });
    fs.mkdirSync(path.join(outside, 'secret'), { recursive: true });
    fs.writeFileSync(path.join(outside, 'secret', 'tokenizer.json'), '{}');
    fs.symlinkSync(path.join(models, 'real'), path.join(models, 'inside'), 'dir');
    fs.symlinkSync(outside, path.join(models, 'escape'), 'dir');
    fs.symlinkSync('../../outside/secret', path.join(models, 'escape-relative'), 'dir');
    const entry = (id: string, bundled: string) => ({ id, role: 'drafter', family: 'f', bundled });
    const file = path.join(dir, 'models.json');
    fs.writeFileSync(file, JSON.stringify(catalogOf(
      entry('real', 'models/real'),
      entry('inside', 'models/inside'),
      entry('not-yet', 'models/not-there-yet'),
      entry('escape', 'models/escape'),
      entry('escape-sub', 'models/escape/secret'),
      entry('escape-missing', 'models/escape/not-there'),
      entry('escape-relative', 'models/escape-relative'),
    )));
    const c = loadCatalog(file);
    assert.deepEqual(c.models.map((m) => m.id), ['real', 'inside', 'not-yet']);
    assert.equal(c.warnings.length, 4, c.warnings.join('\n'));
    c.warnings.forEach((w, i) => {
      assert.match(w, new RegExp(`^models\\.json: models\\[${i + 3}\\] \\(id "[a-z-]+"\\): field "bundled" must stay inside the models folder .* a symbolic link leads it to .*outside.* — entry skipped$`));
    });
    assert.equal(resolveModelDir('inside', c), path.join(models, 'inside'));
    assert.match(entryStatus(c, c.models[2]).reason ?? '', /its bundled directory .* is missing/);
    // A link changed after loading is caught when the model is used.
    fs.rmSync(path.join(models, 'inside'));
    fs.symlinkSync(path.join(outside, 'secret'), path.join(models, 'inside'), 'dir');
    assert.throws(() => resolveModelDir('inside', c), /model 'inside': field "bundled" must stay inside the models folder .* a symbolic link leads it to /);
    // And a catalog built in code, without validateCatalog, cannot point outside either.
    const handmade: Catalog = { ...c, models: [{ id: 'etc', name: 'etc', role: 'target', family: 'x', bundled: '../../../../../etc' }] };
    assert.throws(() => resolveModelDir('etc', handmade), /model 'etc': field "bundled" must be a directory inside the models folder/);
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
    assert.equal(defs.definitions.file.oneOf[1].properties.sha256.pattern, PATTERNS.sha256);
    assert.equal(defs.definitions.variantName.pattern, PATTERNS.variant);
    // deviceVariants: the schema's keys, the loader's and the engine's devices are the same list.
    assert.deepEqual(Object.keys(entry.deviceVariants.properties), [...CATALOG_DEVICES]);
    assert.deepEqual([...CATALOG_DEVICES], [...DEVICES]);
    for (const p of Object.values(PATTERNS)) new RegExp(p, 'u'); // valid with the u flag editors use
  });
});

describe('the shipped models.json', () => {
  const catalog = loadCatalog();

  test('is valid, points at its schema, and every bundled model is present', () => {
    const raw = shipped();
    assert.deepEqual(catalog.warnings, []);
    assert.equal(catalog.models.length, raw.models.length);
    assert.equal(raw.$schema, './models.schema.json');
    assert.ok(fs.existsSync(path.join(root, raw.$schema)));
    assert.equal(valid(schema, raw), true);
    const bundled = catalog.models.filter((m) => m.bundled !== undefined);
    assert.ok(bundled.length >= 3);
    for (const m of bundled) {
      const dir = resolveModelDir(m.id, catalog);
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
        assert.ok(fs.existsSync(path.join(dir, f)), `${m.id}: ${f}`);
      }
    }
  });

  test('recommended drafters exist, can draft, and share the target\'s family', () => {
    for (const m of catalog.models) {
      for (const d of m.recommendedDrafters ?? []) {
        const other = catalog.models.find((x) => x.id === d);
        assert.ok(other, `${m.id} → ${d}`);
        assert.notEqual(other.role, 'target');
        assert.equal(other.family, m.family);
      }
    }
  });

  test('deviceVariants: q4 on the CPU, q4f16 on WebGPU, fp16 elsewhere for Qwen2.5-Coder; none for bundled models', () => {
    for (const m of catalog.models) {
      if (m.bundled !== undefined) {
        assert.equal(m.deviceVariants, undefined, m.id);
        continue;
      }
      assert.deepEqual(m.deviceVariants, { cpu: 'q4', webgpu: 'q4f16', cuda: 'fp16', dml: 'fp16', coreml: 'fp16' }, m.id);
    }
  });

  test('the Qwen2.5-Coder pair: complete file lists, and every unchecked fact marked as such', () => {
    const target = catalog.models.find((m) => m.repo === 'onnx-community/Qwen2.5-Coder-1.5B');
    const drafter = catalog.models.find((m) => m.repo === 'onnx-community/Qwen2.5-Coder-0.5B-Instruct');
    assert.ok(target && drafter);
    assert.equal(target.role, 'target');
    assert.deepEqual(target.recommendedDrafters?.[0], drafter.id);
    for (const m of catalog.models.filter(isDownloadable)) {
      assert.equal(m.fim, 'qwen2.5-coder');
      assert.ok(m.defaultVariant, `${m.id}: defaultVariant`);
      for (const v of Object.keys(m.variants ?? {})) {
        const files = filesFor(m, v);
        const paths = files.map((f) => f.path);
        for (const need of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', `onnx/${onnxFileFor(v)}`, `onnx/${onnxFileFor(v)}_data`]) {
          assert.ok(paths.includes(need), `${m.id} ${v}: ${need}`);
        }
        for (const f of files) {
          if (f.path === `onnx/${onnxFileFor(v)}` || ['config.json', 'tokenizer.json', 'tokenizer_config.json'].includes(f.path)) {
            assert.equal(f.optional, false, `${m.id} ${v}: ${f.path} is required`);
          }
        }
        // Nothing invented: an entry with any unknown hash, size or commit says so.
        const unchecked = !/^[0-9a-f]{40}$/.test(m.commit!) || files.some((f) => f.sha256 === null || f.size === null);
        if (unchecked) assert.equal(m.verify, 'on-first-download', `${m.id}: unchecked facts must be marked`);
      }
    }
  });
});

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
    assert.deepEqual(resolveModel(id, catalog, root, { cacheDir }), { dir: snap, entry, variant: 'int8' });
    // The default variant wins once it is there too.
    put('onnx/model_q4f16.onnx');
    fs.writeFileSync(path.join(repoDir, '.no_exist', commit, 'onnx', 'model_q4f16.onnx_data'), '');
    assert.equal(resolveModel(id, catalog, root, { cacheDir }).variant, 'q4f16');
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
