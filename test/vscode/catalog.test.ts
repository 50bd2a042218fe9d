/**
 * The extension's start-up with a bad model catalog (stand-in vscode, test/vscode/fakeVscode.ts): bad entries are
 * left out with one notification summing them up and a log line each, and the shipped models still load; a catalog
 * that cannot be used at all shows an error at start-up (not only when a command runs) and leaves the shipped models.
 * The catalog the controller loads is replaced through the catalog module's export (the package's models.json is
 * not touched).
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as catalogModule from '../../src/models/catalog';
import { Catalog, packageRoot, validateCatalog } from '../../src/models/catalog';
import { FakeVscode, install } from './fakeVscode';

const fake = new FakeVscode();
const uninstall = install(fake);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ext = require('../../src/vscode/extension') as typeof import('../../src/vscode/extension');
const root = packageRoot();
const mutableCatalog = catalogModule as { loadCatalogOrBundled: (file?: string) => Catalog };
const original = mutableCatalog.loadCatalogOrBundled;
after(() => {
  mutableCatalog.loadCatalogOrBundled = original;
  uninstall();
});

/** Activates the extension on `catalog`, waits for the engine, deactivates; what it showed and logged meanwhile. */
async function startWith(catalog: Catalog): Promise<{ messages: FakeVscode['messages']; log: string[]; target: string | undefined }> {
  mutableCatalog.loadCatalogOrBundled = () => catalog;
  const [m0, l0] = [fake.messages.length, fake.log.length];
  const context = { subscriptions: [] as { dispose(): unknown }[], extension: { id: 'lockstep.lockstep', packageJSON: { version: '0.1.0' } } };
  fake.config = { threads: 1, maxTokens: 8 };
  const api = ext.activate(context as never);
  try {
    // Right after start(), before the engine is ready: the catalog's notification is already there.
    const atStart = fake.messages.slice(m0);
    await api.engineReady();
    // The first-run offer (an information message about the demo model, test/vscode/setup.test.ts) is not the catalog's.
    return { messages: atStart.filter((m) => !/demo of the engine/.test(m.text)), log: fake.log.slice(l0), target: api.models()?.target };
  } finally {
    for (const d of context.subscriptions) d.dispose();
    await ext.deactivate();
  }
}

describe('the extension with a bad model catalog (stand-in vscode)', () => {
  test('bad entries: one warning at start-up, a log line each; the shipped models load', async () => {
    const raw = JSON.parse(fs.readFileSync(path.join(root, 'models.json'), 'utf8'));
    raw.models.push(
      { id: 'etc', role: 'target', family: 'x', bundled: '../../../../../etc' },
      { id: 'lockstep-drafter-a', role: 'drafter', family: 'lockstep-bpe4096', bundled: 'models/lockstep-drafter-b' },
      { id: 'wrong-type', role: 7, family: 'x', bundled: 'models/lockstep-target' },
    );
    const catalog = validateCatalog(raw, path.join(root, 'models.json'));
    assert.equal(catalog.warnings.length, 3);
    const r = await startWith(catalog);
    assert.equal(r.messages.length, 1, JSON.stringify(r.messages));
    assert.equal(r.messages[0].level, 'warn');
    assert.match(r.messages[0].text, /^Lockstep: 3 problems in the model catalog: models\.json: models\[\d+\] \(id "etc"\): field "bundled" .* \(and 2 more problems in the log\)\. The other models work\.$/);
    const logged = r.log.filter((l) => l.startsWith('warn model catalog: '));
    assert.deepEqual(logged, catalog.warnings.map((w) => `warn model catalog: ${w}`));
    assert.equal(r.target, 'lockstep-target');
  });

  test('a catalog that cannot be used at all: an error at start-up; the shipped models load', async () => {
    const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-vscode-catalog-')), 'models.json');
    fs.writeFileSync(broken, '{ "version": 1, "models": [');
    const catalog = original(broken);
    assert.match(catalog.error ?? '', /not valid JSON/);
    const r = await startWith(catalog);
    assert.equal(r.messages.length, 1, JSON.stringify(r.messages));
    assert.equal(r.messages[0].level, 'error');
    assert.match(r.messages[0].text, /^Lockstep: the model catalog cannot be used \(.*models\.json: not valid JSON .*\): only the models shipped with Lockstep are available\.$/);
    assert.ok(r.log.some((l) => /^error cannot use the model catalog: .*not valid JSON/.test(l)), r.log.join('\n'));
    assert.equal(r.target, 'lockstep-target');
    fs.rmSync(path.dirname(broken), { recursive: true, force: true });
  });
});
