/**
 * The extension with a target the exactness probe finds not exact (a call-dependent, int8-like stand-in): one
 * warning, a log line with the verdict, the verdict in the status tooltip, completions without drafting, and no
 * second warning when the engine reloads (the verdict then comes from the cache).
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LockstepApi } from '../../src/vscode/extension';
import { CancellationTokenSource, FakeDocument, FakeVscode, Position, fileUri } from './fakeVscode';
import { extensionUnderTest } from './extensionUnderTest';
import { inexactModelDir } from '../helpers/inexactModel';
import { DRAFTER_B_DIR } from '../helpers/models';

process.env.LOCKSTEP_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-ext-cache-'));
const fake = new FakeVscode();
const under = extensionUnderTest(fake);
const target = inexactModelDir();
let api: LockstepApi;
const warnings = (): string[] => fake.messages.filter((m) => m.level === 'warn' && /drafting is off/.test(m.text)).map((m) => m.text);

describe('an inexact target in the extension', () => {
  before(async () => {
    fake.config = { threads: 1, maxTokens: 16, device: 'cpu', target, drafter: DRAFTER_B_DIR };
    api = await under.activate();
  });
  after(async () => {
    await under.close();
  });

  test('one warning, the verdict in the log and the tooltip; completions are plain decoding', async () => {
    const info = await api.engineReady();
    assert.equal(info.exactness.exact, false);
    await new Promise((r) => setTimeout(r, 50)); // the notice follows the ready promise
    assert.equal(warnings().length, 1, JSON.stringify(fake.messages));
    assert.match(warnings()[0], /^Lockstep: target .* \(int8 on cpu, 1 thread: not exact: drafting off \(0\/24 rows equal under the best rule tried\)\).* The q4 or fp32 variant is exact on cpu\.$/);
    assert.ok(fake.log.some((l) => /^info engine ready in \d+ ms: .*; exactness: int8 on cpu, 1 thread: not exact: drafting off .*\(probed in [\d.]+ s\)$/.test(l)), fake.log.join('\n'));
    assert.match(String(fake.statusBar.tooltip), /\nExactness: int8 on cpu, 1 thread: not exact: drafting off/);
    const src = new CancellationTokenSource();
    const doc = new FakeDocument(fileUri('/work/a.js'), 'function add(a, b) {\n  return \n}\n');
    await fake.providers[0].provider.provideInlineCompletionItems(doc, new Position(1, 9), { triggerKind: 0, selectedCompletionInfo: undefined }, src.token);
    const last = api.lastCompletion();
    assert.ok(last && !last.fromCache);
  });

  test('Restart Engine: a new engine process reads the cached verdict (no probe) and does not warn again', async () => {
    await fake.commands.get('lockstep.restartEngine')!();
    const info = await api.engineReady();
    assert.equal(info.exactness.cached, true);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(warnings().length, 1);
    assert.ok(fake.log.some((l) => /exactness: int8 on cpu, 1 thread: not exact: drafting off .* \(cached\)$/.test(l)), fake.log.join('\n'));
  });
});
