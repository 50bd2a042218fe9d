/**
 * Cross-file context in the extension (stand-in vscode, the real engine process with the shipped models): what is
 * read, from where, what is never read, and that a changed snippet is never served an old cached completion.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LockstepApi } from '../../src/vscode/extension';
import { CancellationTokenSource, FakeDocument, FakeVscode, Position, fileUri } from './fakeVscode';
import { extensionUnderTest } from './extensionUnderTest';

const fake = new FakeVscode();
const under = extensionUnderTest(fake);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-context-'));
const WS = path.join(tmp, 'ws');
const OUTSIDE = path.join(tmp, 'outside');
const LIB = 'export function computeInvoiceTotal(items, taxRate) {\n  return items.reduce((s, i) => s + i.price, 0) * (1 + taxRate);\n}\n';
const MAIN = "import { computeInvoiceTotal } from './lib';\n\nconst invoiceTotal = ";
const CURSOR = new Position(2, 'const invoiceTotal = '.length);

let api: LockstepApi;

function write(rel: string, text: string, root = WS): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
}

function mainDoc(text = MAIN, rel = 'main.js'): FakeDocument {
  return new FakeDocument(fileUri(path.join(WS, rel)), text);
}

async function provide(doc: FakeDocument, pos = CURSOR): Promise<ReturnType<LockstepApi['lastCompletion']>> {
  const src = new CancellationTokenSource();
  await fake.providers[0].provider.provideInlineCompletionItems(doc, pos, { triggerKind: 0, selectedCompletionInfo: undefined }, src.token);
  return api.lastCompletion();
}

const snippetPaths = (r: ReturnType<LockstepApi['lastCompletion']>): string[] => r?.context?.snippets.map((s) => s.path) ?? [];

describe('cross-file context (stand-in vscode)', () => {
  before(async () => {
    write('lib.js', LIB);
    write('unrelated.js', 'function paintCanvas(ctx) {\n  ctx.fillRect(0, 0, 1, 1);\n}\n');
    fake.folders = [{ uri: fileUri(WS), name: 'shop', index: 0 }];
    fake.config = { threads: 1, maxTokens: 16 };
    api = await under.activate();
  });
  after(async () => {
    await under.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('an imported file defines the identifier: its snippet is sent, in the prompt, and in the record', async () => {
    api.clearCache();
    const r = await provide(mainDoc());
    assert.ok(r?.context, 'context was sent');
    assert.equal(r.context.path, 'main.js');
    assert.equal(r.context.repoName, 'shop');
    assert.deepEqual(snippetPaths(r), ['lib.js']);
    assert.equal(r.context.snippets[0].text, LIB);
    assert.deepEqual(r.result?.contextFiles, ['lib.js'], 'the engine put it into the prompt');
    assert.ok((r.result?.contextTokens ?? 0) > 0);
  });

  test('open tabs, recent edits and recent views are sources; the current file never is', async () => {
    write('sub/helpers.js', 'export const invoiceTotalLabel = (invoiceTotal) => `total ${invoiceTotal}`;\n');
    fake.tabs = [fileUri(path.join(WS, 'sub/helpers.js')), fileUri(path.join(WS, 'main.js'))];
    api.clearCache();
    const r = await provide(mainDoc());
    assert.ok(snippetPaths(r).includes('sub/helpers.js'), snippetPaths(r).join());
    assert.ok(!snippetPaths(r).includes('main.js'));
    fake.tabs = [];
    const edited = new FakeDocument(fileUri(path.join(WS, 'edited.js')), 'let invoiceTotal = 0; // being edited\n');
    fake.documents = [edited];
    fake.docChanges.fire({ document: edited, contentChanges: [{}] });
    api.clearCache();
    const r2 = await provide(mainDoc(MAIN.replace("import { computeInvoiceTotal } from './lib';", '// no imports')));
    assert.deepEqual(snippetPaths(r2), ['edited.js']);
    fake.documents = [];
  });

  test('an unsaved edit in an open file is what is sent, and a changed snippet is never served the cached completion', async () => {
    const lib = new FakeDocument(fileUri(path.join(WS, 'lib.js')), LIB);
    fake.documents = [lib];
    api.clearCache();
    const first = await provide(mainDoc());
    assert.equal(first?.fromCache, false);
    assert.equal((await provide(mainDoc()))?.fromCache, true, 'same context: the cache serves it');
    lib.insert(new Position(0, 0), '// computeInvoiceTotal: taxRate is a fraction\n');
    const after = await provide(mainDoc());
    assert.equal(after?.fromCache, false, 'the edit changed the context: a fresh completion');
    assert.match(after?.context?.snippets[0].text ?? '', /^\/\/ computeInvoiceTotal: taxRate is a fraction\n/);
    fake.documents = [];
    // On disk too: a file's new content replaces its old windows.
    write('lib.js', `${LIB}export const invoiceTotalTaxRate = 0.2;\n`);
    fs.utimesSync(path.join(WS, 'lib.js'), new Date(), new Date(Date.now() + 5_000));
    const disk = await provide(mainDoc());
    assert.equal(disk?.fromCache, false);
    assert.match(disk?.context?.snippets[0].text ?? '', /invoiceTotalTaxRate/);
    write('lib.js', LIB);
  });

  test('never read: excluded files (lockstep.contextExclude, files.exclude), symlinks out of the workspace, untrusted workspaces', async () => {
    fake.setConfig({ contextExclude: ['**/lib.js'] });
    api.clearCache();
    assert.equal((await provide(mainDoc()))?.context, undefined);
    fake.setConfig({ contextExclude: undefined });
    fake.filesConfig = { exclude: { 'lib.js': true } };
    assert.equal((await provide(mainDoc()))?.context, undefined);
    fake.filesConfig = {};

    write('secret.js', 'export const computeInvoiceTotalSecret = "do not send";\n', OUTSIDE);
    fs.symlinkSync(path.join(OUTSIDE, 'secret.js'), path.join(WS, 'link.js'));
    const viaLink = await provide(mainDoc("import { computeInvoiceTotalSecret } from './link';\nimport { computeInvoiceTotal } from './lib';\nconst invoiceTotal = ", 'main2.js'), new Position(2, 21));
    assert.deepEqual(snippetPaths(viaLink), ['lib.js']);
    assert.ok(!JSON.stringify(viaLink?.context).includes('do not send'));

    fake.trusted = false;
    api.clearCache();
    assert.equal((await provide(mainDoc()))?.context, undefined);
    fake.trusted = true;
  });

  test('lockstep.context.enable false, or no sources: the plain prompt, as without the feature', async () => {
    fake.setConfig({ 'context.enable': false });
    api.clearCache();
    const off = await provide(mainDoc());
    assert.equal(off?.context, undefined);
    assert.equal(off?.result?.contextFiles, undefined);
    fake.setConfig({ 'context.enable': undefined, 'context.sources': [] });
    assert.equal((await provide(mainDoc()))?.context, undefined);
    fake.setConfig({ 'context.sources': ['bogus'] });
    assert.ok(fake.messages.some((m) => /lockstep\.context\.sources" must be an array of "openEditors"/.test(m.text)), 'a bad value is named');
    assert.ok((await provide(mainDoc()))?.context, 'and the default applies');
    fake.setConfig({ 'context.sources': undefined });
  });
});
