/**
 * The extension activated against a stand-in `vscode` module (test/vscode/fakeVscode.ts) with the shipped models:
 * the real controller, provider, commands and engine process. The same scenarios run in a real editor in
 * test/suite/extension.suite.ts (@vscode/test-electron).
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../src/models/catalog';
import type { LockstepApi } from '../../src/vscode/extension';
import { DEFAULT_SETTINGS, configKey } from '../../src/vscode/settings';
import { CancellationTokenSource, FakeDocument, FakeVscode, Position, fileUri } from './fakeVscode';
import { extensionUnderTest } from './extensionUnderTest';

const fake = new FakeVscode();
const under = extensionUnderTest(fake);
const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
  contributes: { commands: { command: string }[]; configuration: { properties: Record<string, { default: unknown }> } };
};

const SOURCE = [
  'function average(values) {',
  '  let sum = 0;',
  '  for (const v of values) {',
  '    sum += v;',
  '  }',
  '  ',
  '}',
  '',
].join('\n');
const CURSOR = new Position(5, 2);

let api: LockstepApi;

function newDoc(): FakeDocument {
  return new FakeDocument(fileUri('/work/average.js'), SOURCE);
}

async function provide(doc: FakeDocument, pos: Position): Promise<{ text?: string; title?: string }> {
  const src = new CancellationTokenSource();
  const items = await fake.providers[0].provider.provideInlineCompletionItems(doc, pos, { triggerKind: 0, selectedCompletionInfo: undefined }, src.token);
  const item = items?.[0];
  return { text: item?.insertText, title: item?.command?.title };
}

/** A fresh generation (not the cache) at the cursor of a fresh document. */
async function generate(): Promise<string> {
  api.clearCache();
  const n = api.generatedCount();
  const { text } = await provide(newDoc(), CURSOR);
  assert.equal(api.generatedCount(), n + 1);
  assert.equal(api.lastCompletion()?.fromCache, false);
  return text ?? '';
}

describe('the extension (stand-in vscode)', () => {
  before(async () => {
    fake.config = { threads: 1, maxTokens: 32 };
    api = await under.activate();
  });
  after(async () => {
    if (process.env.LOCKSTEP_TEST_DEBUG) fs.writeFileSync(process.env.LOCKSTEP_TEST_DEBUG, `${fake.log.join('\n')}\n${JSON.stringify(fake.messages, null, 1)}`);
    await under.close();
  });

  test('activation registers the provider for every file, every manifest command, and the status bar', () => {
    assert.deepEqual(fake.providers.map((p) => p.selector), [{ pattern: '**' }]);
    for (const c of manifest.contributes.commands) assert.ok(fake.commands.has(c.command), c.command);
    assert.match(fake.statusBar.text, /Lockstep/);
    assert.equal(fake.statusBar.command, 'lockstep.showMenu');
    assert.ok(fake.log.some((l) => /^info engine ready in \d+ ms/.test(l)), fake.log.join('\n'));
    // The engine chose the device (lockstep.device is "auto"): the log and the tooltip say which.
    assert.ok(fake.log.some((l) => /^info engine ready in \d+ ms: .*; device (cpu|webgpu|cuda|dml|coreml)\b/.test(l)), fake.log.join('\n'));
    assert.match(String(fake.statusBar.tooltip), /\nDevice: (cpu|webgpu|cuda|dml|coreml)\b/);
  });

  test('a device this machine lacks: the engine runs on the CPU and one warning says why', async () => {
    // A provider onnxruntime-node does not have on this platform (DirectML off Windows, CoreML on Windows).
    const missing = process.platform === 'win32' ? 'coreml' : 'dml';
    const before = fake.messages.length;
    fake.setConfig({ device: missing });
    const info = await api.engineReady();
    assert.deepEqual([info.device.requested, info.device.used, info.device.fellBack], [missing, 'cpu', true]);
    const shown = fake.messages.slice(before).filter((m) => m.level === 'warn' && m.text.startsWith('Lockstep runs on the CPU instead of '));
    assert.equal(shown.length, 1, JSON.stringify(fake.messages.slice(before)));
    assert.ok(shown[0].text.includes(`${missing}: `), shown[0].text);
    assert.match(String(fake.statusBar.tooltip), new RegExp(`\\nDevice: cpu \\(asked: ${missing}; the log says why\\)`));
    // Back to auto: no notice for what auto passes over quietly.
    const after = fake.messages.length;
    fake.setConfig({ device: undefined });
    const auto = await api.engineReady();
    assert.equal(auto.device.requested, 'auto');
    if (!auto.device.fellBack) assert.equal(fake.messages.slice(after).filter((m) => /^Lockstep runs on/.test(m.text)).length, 0);
  });

  test('the manifest defaults are the validator\'s defaults', () => {
    const props = manifest.contributes.configuration.properties;
    const s = DEFAULT_SETTINGS;
    for (const [key, value] of Object.entries(s)) {
      const name = `lockstep.${configKey(key as keyof typeof s)}`;
      assert.ok(name in props, `${name} is declared`);
      assert.deepEqual(props[name].default, value, key);
    }
    assert.equal(Object.keys(props).length, Object.keys(s).length);
  });

  test('completes mid-function; inserting the item gives the expected text', async () => {
    const doc = newDoc();
    const { text, title } = await provide(doc, CURSOR);
    assert.ok(text && text.trim().length > 0, 'a completion');
    assert.match(title!, /seed 0/);
    const rec = api.lastCompletion()!;
    assert.equal(rec.text, text);
    assert.equal(rec.mode, 'block');
    assert.equal(rec.line, 5);
    doc.insert(CURSOR, text);
    const offset = SOURCE.split('\n').slice(0, 5).join('\n').length + 1 + CURSOR.character;
    assert.equal(doc.getText(), SOURCE.slice(0, offset) + text + SOURCE.slice(offset));
    assert.match(fake.statusBar.text, /tok\/s/);
  });

  test('typing along the suggestion shows its remainder from the cache', async () => {
    const full = await generate();
    const doc = newDoc();
    const k = Math.min(3, full.length - 1);
    const pos = doc.insert(CURSOR, full.slice(0, k));
    const n = api.generatedCount();
    const { text } = await provide(doc, pos);
    assert.equal(text, full.slice(k));
    assert.equal(api.generatedCount(), n);
    assert.equal(api.lastCompletion()?.fromCache, true);
  });

  test('the cache is keyed on the whole prompt window: an edit 1 000 or 5 000 characters above the cursor regenerates', async () => {
    const body = Array.from({ length: 400 }, (_, i) => `  const value${i} = combine(value${i - 1}, ${i * 7});`);
    const text = ['function long() {', ...body, '  ', ...body.slice(0, 50), '}', ''].join('\n');
    const cursor = new Position(401, 2);
    const longDoc = (): FakeDocument => new FakeDocument(fileUri('/work/long.js'), text);
    api.clearCache();
    const n = api.generatedCount();
    const full = (await provide(longDoc(), cursor)).text ?? '';
    assert.equal(api.generatedCount(), n + 1);
    assert.ok(full.length > 1, JSON.stringify(full));
    // The same place, then typing along the suggestion: from the cache.
    assert.equal((await provide(longDoc(), cursor)).text, full);
    const typed = longDoc();
    assert.equal((await provide(typed, typed.insert(cursor, full.slice(0, 1)))).text, full.slice(1));
    assert.equal(api.generatedCount(), n + 1);
    for (const distance of [1000, 5000]) {
      const d = longDoc();
      let line = 400;
      for (let chars = 2; chars < distance; line--) chars += d.lines[line].length + 1;
      d.lines[line] = d.lines[line].replace(/value(\d+) =/, 'renamed$1 =');
      const before = api.generatedCount();
      await provide(d, cursor);
      assert.equal(api.generatedCount(), before + 1, `renaming an identifier ${distance} characters above the cursor must not be served from the cache`);
      assert.equal(api.lastCompletion()?.fromCache, false);
    }
  });

  test('a maxTokens the target cannot hold next to a prompt: capped, the prompt kept, one warning', async () => {
    const warnings = (): string[] => fake.messages.filter((m) => m.level === 'warn' && /does not fit the target's context/.test(m.text)).map((m) => m.text);
    const shown = warnings().length;
    fake.setConfig({ multiline: 'never' });
    await generate();
    const fitting = api.lastCompletion()!.result!;
    assert.equal(fitting.contextNote, undefined);
    fake.setConfig({ maxTokens: 4096 });
    await generate();
    const capped = api.lastCompletion()!.result!;
    assert.equal(capped.maxTokensUsed, 256);
    assert.equal(capped.promptTokens, fitting.promptTokens, 'the prompt keeps its share');
    assert.deepEqual(warnings().slice(shown), [`Lockstep: ${capped.contextNote}`]);
    await generate();
    assert.equal(warnings().length, shown + 1, 'warned once');
    // When the engine (re)loads with such a setting, the warning comes before any completion.
    fake.setConfig({ maxTokens: 3000, threads: 2 });
    await api.engineReady();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings().length, shown + 2);
    assert.match(warnings().at(-1)!, /maxTokens 3000 .* capped at 256 tokens/);
    fake.setConfig({ maxTokens: 32, threads: 1, multiline: undefined });
    await api.engineReady();
  });

  test('Regenerate with Seed: the same seed gives the same text; the seed shows in the status bar', async () => {
    assert.equal(await fake.commands.get('lockstep.regenerateWithSeed')!(1234), 1234);
    assert.equal(api.seed(), 1234);
    assert.match(fake.statusBar.text, /seed 1234/);
    assert.ok(fake.executed.includes('editor.action.inlineSuggest.trigger') || fake.activeTextEditor === undefined);
    const a = await generate();
    const b = await generate();
    assert.equal(a, b);
    // Through the picker: "Enter a seed…" then 77.
    fake.quickPickAnswer = (items) => (items as { enter?: boolean }[]).find((i) => i.enter);
    fake.inputAnswer = '77';
    await fake.commands.get('lockstep.regenerateWithSeed')!();
    assert.equal(api.seed(), 77);
    await fake.commands.get('lockstep.nextSeed')!();
    assert.equal(api.seed(), 78);
  });

  test('switching the drafter setting keeps the text byte-identical (same seed)', async () => {
    fake.setConfig({ temperature: 0.8, seed: 11 });
    assert.equal(api.seed(), 11);
    const texts: string[] = [];
    for (const d of ['none', 'prompt-lookup', 'lockstep-drafter-a', 'lockstep-drafter-b', 'prompt-lookup+lockstep-drafter-a']) {
      fake.setConfig({ drafter: d });
      await api.engineReady();
      assert.equal(api.models()?.drafterRequest, d);
      texts.push(await generate());
      assert.equal(api.lastCompletion()?.result?.drafter, d);
    }
    assert.ok(texts[0].trim().length > 0);
    assert.deepEqual(texts, texts.map(() => texts[0]));
  });

  test('bad settings give one warning each and the default, never a failure', async () => {
    const warned = fake.messages.filter((m) => m.level === 'warn').length;
    fake.setConfig({ temperature: 'hot', maxTokens: -1, device: 'tpu' });
    const now = fake.messages.filter((m) => m.level === 'warn').slice(warned).map((m) => m.text);
    assert.equal(now.length, 3, now.join('\n'));
    assert.ok(now.some((t) => /lockstep\.temperature/.test(t)));
    assert.equal(api.settings().temperature, 0.2);
    assert.equal(api.settings().maxTokens, 64);
    assert.equal(api.warnings().length >= 3, true);
    fake.setConfig({ seed: 12 });
    assert.equal(fake.messages.filter((m) => m.level === 'warn').length, warned + 3, 'no repeated warning');
    assert.ok((await generate()).length >= 0);
    fake.setConfig({ temperature: 0.8, maxTokens: 32, device: undefined });
  });

  test('Choose Drafter writes the setting and the engine follows without reload', async () => {
    fake.quickPickAnswer = (items) => (items as { spec?: string }[]).find((i) => i.spec === 'lockstep-drafter-b');
    await fake.commands.get('lockstep.chooseDrafter')!();
    assert.equal(fake.config.drafter, 'lockstep-drafter-b');
    await api.engineReady();
    assert.equal(api.models()?.drafterRequest, 'lockstep-drafter-b');
  });

  test('Verify Drafter Invariance reports all identical', async () => {
    fake.activeTextEditor = { document: newDoc(), selection: { active: CURSOR } };
    const outcome = (await fake.commands.get('lockstep.verifyDrafterInvariance')!()) as Awaited<ReturnType<LockstepApi['verify']>>;
    assert.equal(outcome.identical, true, outcome.markdown);
    assert.equal(outcome.runs.length, 12);
    assert.deepEqual([...new Set(outcome.runs.map((r) => r.coupling))], ['gumbel', 'wmh']);
    assert.equal(fake.opened.at(-1)?.language, 'markdown');
    assert.match(fake.opened.at(-1)!.content!, /All identical/);
    // The API runs it without opening a document.
    const n = fake.opened.length;
    assert.equal((await api.verify()).identical, true);
    assert.equal(fake.opened.length, n);
  });

  test('disabled languages and enable=false give no completions', async () => {
    fake.setConfig({ disabledLanguages: ['JavaScript'] });
    assert.equal((await provide(newDoc(), CURSOR)).text, undefined);
    fake.setConfig({ disabledLanguages: undefined });
    await fake.commands.get('lockstep.toggleEnable')!();
    assert.equal(fake.config.enable, false);
    assert.match(fake.statusBar.text, /off/);
    assert.equal((await provide(newDoc(), CURSOR)).text, undefined);
    await fake.commands.get('lockstep.toggleEnable')!();
    assert.ok((await provide(newDoc(), CURSOR)).text !== undefined);
  });

  test('Choose Target Model: a shipped model is set; a model not downloaded asks first (declined here)', async () => {
    fake.quickPickAnswer = (items) => (items as { spec?: string }[]).find((i) => i.spec === 'lockstep-target');
    await fake.commands.get('lockstep.chooseTarget')!();
    assert.equal(fake.config.target, 'lockstep-target');
    const hub = (items: unknown[]) => (items as { spec?: string; available?: boolean }[]).find((i) => i.available === false);
    fake.quickPickAnswer = hub;
    await fake.commands.get('lockstep.chooseTarget')!();
    assert.equal(fake.config.target, 'lockstep-target');
    assert.ok(fake.messages.some((m) => m.level === 'info' && /is not downloaded/.test(m.text)));
  });

  test('Download Models: nothing picked → nothing; a failed download is reported, not thrown', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-ext-models-'));
    const offline = process.env.HF_HUB_OFFLINE;
    process.env.HF_HUB_OFFLINE = '1';
    try {
      fake.setConfig({ modelsDir: tmp });
      fake.quickPickAnswer = () => [];
      assert.deepEqual(await fake.commands.get('lockstep.downloadModels')!(), []);
      const errors = fake.messages.filter((m) => m.level === 'error').length;
      const out = (await fake.commands.get('lockstep.downloadModels')!(['qwen2.5-coder-0.5b-instruct'])) as { id: string; ok: boolean; error?: string }[];
      assert.equal(out.length, 1);
      assert.equal(out[0].ok, false);
      assert.match(out[0].error!, /offline|HF_HUB_OFFLINE/i);
      assert.equal(fake.messages.filter((m) => m.level === 'error').length, errors + 1);
      assert.doesNotMatch(fake.statusBar.text, /cloud-download/);
    } finally {
      if (offline === undefined) delete process.env.HF_HUB_OFFLINE;
      else process.env.HF_HUB_OFFLINE = offline;
      fake.setConfig({ modelsDir: undefined });
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('an unusable target is an error in the status bar, not a crash; fixing it recovers', async () => {
    fake.setConfig({ target: 'no-such-model' });
    assert.match(fake.statusBar.text, /error/);
    assert.ok(fake.messages.some((m) => m.level === 'error' && /no-such-model/.test(m.text)));
    assert.equal((await provide(newDoc(), CURSOR)).text, undefined);
    fake.setConfig({ target: undefined });
    await api.engineReady();
    assert.ok((await generate()).length >= 0);
  });
});
