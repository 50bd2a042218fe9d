/**
 * The first-run path in the extension (stand-in vscode, real controller, engine process and downloader): the demo
 * is offered a setup at activation; Lockstep: Set Up a Model lists the catalog's targets with the recommendation
 * first and its reason, downloads the picked one from a local Hub (the ci stand-in as an extra-catalog entry),
 * switches the target, waits for the load and exactness probe, and opens a sample where the new model completes.
 * The same path runs in a real editor in test/e2e/firstRun.ts.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LockstepApi } from '../../src/vscode/extension';
import { DEMO_NOTICE_OFF_KEY, FirstRun } from '../../src/vscode/firstRun';
import { sampleLanguage } from '../../src/vscode/samples';
import { loadCatalog } from '../../src/models/catalog';
import { ciStandin } from '../helpers/standin';
import { STANDIN_ID, type StandinHub, startStandinHub } from '../helpers/standinHub';
import { CancellationTokenSource, FakeDocument, FakeVscode, Position, fileUri } from './fakeVscode';
import { extensionUnderTest } from './extensionUnderTest';

const fake = new FakeVscode();
const under = extensionUnderTest(fake);

let api: LockstepApi;
let served: StandinHub;
let tmp: string;

describe('first-run setup (stand-in vscode, local Hub)', () => {
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-setup-'));
    served = await startStandinHub(ciStandin().target, tmp);
    fake.config = { threads: 1, maxTokens: 16, modelsDir: path.join(tmp, 'models'), hubEndpoint: served.hub.endpoint, extraCatalog: served.catalogFile };
    fake.messageAnswer = () => undefined;
    api = await under.activate();
  });
  after(async () => {
    await under.close();
    await served.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('activation with the demo target offers the setup once, saying it is a demo', () => {
    const offers = fake.messages.filter((m) => /lockstep-target is a 7\.3M-parameter demo of the engine/.test(m.text));
    assert.equal(offers.length, 1, JSON.stringify(fake.messages));
    assert.equal(offers[0].level, 'info');
    assert.match(offers[0].text, /Set Up a Model/);
  });

  test('Set Up a Model: recommendation first with its reason, download, switch, probe, a completion by the new model', async () => {
    let offered: { label: string; detail?: string; description?: string }[] = [];
    fake.quickPickAnswer = (items) => {
      offered = items as typeof offered;
      return offered.find((i) => i.label.endsWith(STANDIN_ID));
    };
    const before = fake.executed.length;
    const outcome = await fake.commands.get('lockstep.setupModel')!() as { target?: string; stopped?: string };
    assert.deepEqual(outcome, { target: STANDIN_ID });
    // The recommendation comes first, starred, with the machine and the reason; the stand-in is offered too.
    assert.match(offered[0].label, /^\$\(star-full\) /);
    assert.match(offered[0].detail ?? '', /^Recommended — \d+(\.\d)? GB RAM, \d+ cores/);
    assert.ok(offered.some((i) => i.label === STANDIN_ID && /q4 · about 56(\.0)? MB/.test(i.description ?? '')), JSON.stringify(offered));
    assert.ok(!offered.some((i) => /lockstep-/.test(i.label)), 'the demo models are not offered');
    // Downloaded into the models folder, the settings switched, and the engine runs it.
    assert.equal(fake.config.target, STANDIN_ID);
    assert.equal(api.settings().drafter, 'auto');
    const info = await api.engineReady();
    assert.equal(info.exactness.exact, true);
    assert.ok(api.models()!.targetDir.startsWith(path.join(tmp, 'models')), api.models()!.targetDir);
    assert.ok(fs.readFileSync(path.join(api.models()!.targetDir, 'onnx', 'model_q4.onnx')).equals(fs.readFileSync(path.join(ciStandin().target, 'onnx', 'model_q4.onnx'))));
    // The sample: Python (the stand-in takes any language), the cursor in the body, an explicit trigger.
    assert.equal(fake.opened.at(-1)?.language, 'python');
    assert.ok(fake.executed.slice(before).includes('editor.action.inlineSuggest.trigger'));
    const doc = new FakeDocument(fileUri(path.join(tmp, 'fib.py')), fake.opened.at(-1)!.content!, 'python');
    const src = new CancellationTokenSource();
    api.clearCache();
    const items = await fake.providers[0].provider.provideInlineCompletionItems(doc, new Position(2, 4), { triggerKind: 0, selectedCompletionInfo: undefined }, src.token);
    assert.equal(api.generatedCount() > 0, true);
    assert.equal(api.lastCompletion()?.result?.tokens !== undefined, true);
    assert.ok(items !== undefined, 'the new model completes Python');
    assert.ok(fake.messages.some((m) => new RegExp(`${STANDIN_ID} is ready \\(exact: drafting on\\)`).test(m.text)), JSON.stringify(fake.messages));
  });

  test('a second setup of a downloaded model downloads nothing and still switches', async () => {
    const transfers = served.hub.transfers().length;
    fake.setConfig({ target: 'lockstep-target' });
    await api.engineReady();
    const outcome = await fake.commands.get('lockstep.setupModel')!(STANDIN_ID) as { target?: string };
    assert.equal(outcome.target, STANDIN_ID);
    assert.equal(served.hub.transfers().length, transfers);
  });

  test('an unknown id is refused with a message', async () => {
    const outcome = await fake.commands.get('lockstep.setupModel')!('no-such-model') as { stopped?: string };
    assert.equal(outcome.stopped, 'no-fit');
    assert.match(fake.messages.at(-1)!.text, /"no-such-model" is not a downloadable target in the catalog/);
  });
});

describe('demo notices without nagging (FirstRun)', () => {
  const demo = loadCatalog().models.find((m) => m.id === 'lockstep-target');
  const qwen = loadCatalog().models.find((m) => m.id === 'qwen2.5-coder-1.5b');
  const make = (store: Map<string, unknown>, answer: string | undefined) => {
    const shown: string[][] = [];
    const commands: string[] = [];
    const run = new FirstRun(
      { get: <T>(k: string) => store.get(k) as T, update: async (k: string, v: unknown) => void store.set(k, v) } as never,
      { inform: async (m, ...b) => (shown.push([m, ...b]), answer), command: async (id) => void commands.push(id) },
      'lockstep.lockstep', () => undefined,
    );
    return { run, shown, commands };
  };

  test('the offer at activation is made once ever; the completion notice once a session until "Don\'t show again"', async () => {
    const store = new Map<string, unknown>();
    const a = make(store, 'Set Up a Model');
    a.run.onActivation(demo);
    a.run.onCompletion(demo);
    await new Promise((r) => setImmediate(r));
    assert.equal(a.shown.length, 1, 'no completion notice in the session of the offer');
    assert.deepEqual(a.shown[0].slice(1), ['Set Up a Model', 'Open Walkthrough', 'Not now']);
    assert.deepEqual(a.commands, ['lockstep.setupModel']);
    const b = make(store, "Don't show again");
    b.run.onActivation(demo);
    b.run.onCompletion(demo);
    b.run.onCompletion(demo);
    await new Promise((r) => setImmediate(r));
    assert.equal(b.shown.length, 1);
    assert.deepEqual(b.shown[0].slice(1), ['Set Up a Model', 'Not now', "Don't show again"]);
    assert.equal(store.get(DEMO_NOTICE_OFF_KEY), true);
    const c = make(store, undefined);
    c.run.onCompletion(demo);
    assert.equal(c.shown.length, 0, 'turned off for good');
    const d = make(new Map(), undefined);
    d.run.onActivation(qwen);
    d.run.onCompletion(qwen);
    assert.equal(d.shown.length, 0, 'a real model gets no notice');
  });

  test('the sample is in a language the model takes', () => {
    assert.equal(sampleLanguage('python', undefined), 'python');
    assert.equal(sampleLanguage('python', ['javascript', 'typescript']), 'javascript');
    assert.equal(sampleLanguage('typescript', ['javascript', 'typescript']), 'typescript');
    assert.equal(sampleLanguage('markdown', undefined), 'python');
  });
});
