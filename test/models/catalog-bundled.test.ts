/**
 * Bundled paths stay inside the models folder next to the catalog: symbolic links out of it are refused when the
 * catalog loads and again when a model is used, and a catalog built in code cannot point outside either.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Catalog, entryStatus, loadCatalog, resolveModelDir } from '../../src/models/catalog';
import { catalogOf } from '../helpers/catalogEntries';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-catalog-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('catalog validation', () => {
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
});
