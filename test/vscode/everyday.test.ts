/**
 * Everyday editing and language awareness: snooze with a fake clock; the status bar names
 * the target and says when it is a demo; the menu's Snooze… / Resume and per-language items; a document in a language
 * the demo target was not trained on gets no completion and one notice. The extension runs against the stand-in
 * `vscode` module (test/vscode/fakeVscode.ts) with the shipped models.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { findEntry, loadCatalogOrBundled } from '../../src/models/catalog';
import { demoLabel, languageMismatch } from '../../src/models/modelNotices';
import type { LockstepApi } from '../../src/vscode/extension';
import { statusBarText, statusTooltip, type StatusInfo } from '../../src/vscode/format';
import { Clock, SnoozeState, clockTime, minutesFromArgument } from '../../src/vscode/snooze';
import { CancellationTokenSource, FakeDocument, FakeVscode, Position, fileUri } from './fakeVscode';
import { extensionUnderTest } from './extensionUnderTest';

const fake = new FakeVscode();
const state = new Map<string, unknown>();
const under = extensionUnderTest(fake, {
  globalState: { get: (k: string) => state.get(k), update: async (k: string, v: unknown) => void state.set(k, v), keys: () => [...state.keys()] },
});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LanguageNotices, LANGUAGE_NOTICE_KEY } = require('../../src/vscode/languageNotice') as typeof import('../../src/vscode/languageNotice');

const demo = findEntry(loadCatalogOrBundled(), 'lockstep-target')!;

/** A clock whose time moves only when the test says, firing the timers that fall due. */
class FakeClock implements Clock {
  t = Date.UTC(2026, 0, 5, 9, 0);
  private timers: { at: number; f: () => void; id: number }[] = [];
  private ids = 0;
  now(): number {
    return this.t;
  }
  setTimeout(f: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, f, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  advance(ms: number): void {
    this.t += ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= this.t).sort((a, b) => a.at - b.at)[0];
      if (!due) return;
      this.clearTimeout(due.id);
      due.f();
    }
  }
  get pending(): number {
    return this.timers.length;
  }
}

describe('snooze (fake clock)', () => {
  test('for minutes: active until the time, then resumes by itself', () => {
    const clock = new FakeClock();
    const changes: boolean[] = [];
    const s = new SnoozeState((on) => changes.push(on), clock);
    assert.equal(s.active, false);
    assert.equal(s.label, undefined);
    s.snooze(15);
    assert.equal(s.active, true);
    assert.equal(s.label, `snoozed until ${clockTime(clock.t + 15 * 60_000)}`);
    assert.match(s.label!, /^snoozed until \d\d:\d\d$/);
    clock.advance(14 * 60_000);
    assert.equal(s.active, true);
    clock.advance(60_000);
    assert.equal(s.active, false);
    assert.deepEqual(changes, [true, false]);
    assert.equal(clock.pending, 0);
  });
  test('a new snooze replaces the old one; Resume ends it; until restart has no timer', () => {
    const clock = new FakeClock();
    const changes: boolean[] = [];
    const s = new SnoozeState((on) => changes.push(on), clock);
    s.snooze(5);
    s.snooze(60);
    assert.equal(clock.pending, 1);
    clock.advance(30 * 60_000);
    assert.equal(s.active, true);
    s.resume();
    assert.equal(s.active, false);
    assert.equal(clock.pending, 0);
    s.resume(); // nothing to end: no change reported
    s.snooze(undefined);
    assert.equal(s.label, 'snoozed until restart');
    assert.equal(clock.pending, 0);
    clock.advance(365 * 24 * 3600_000);
    assert.equal(s.active, true);
    s.dispose();
    assert.deepEqual(changes, [true, true, false, true]);
  });
  test('minutes from a command argument', () => {
    assert.equal(minutesFromArgument(5), 5);
    assert.equal(minutesFromArgument('30'), 30);
    for (const bad of [0, -1, Number.NaN, '', 'soon', undefined, {}]) assert.equal(minutesFromArgument(bad), undefined, String(bad));
  });
});

describe('status bar words', () => {
  const base: StatusInfo = {
    enabled: true, state: { kind: 'ready' }, target: 'qwen2.5-coder-1.5b', drafter: 'auto', seed: 0, seedOverridden: false, coupling: 'gumbel',
  };
  test('names the target; a demo target says so, with how to set up a real model', () => {
    assert.equal(statusBarText(base), '$(sparkle) Lockstep: qwen2.5-coder-1.5b · auto · seed 0');
    assert.ok(!statusTooltip(base).includes('Set Up a Model'));
    const d = { ...base, target: 'lockstep-target', demo: demoLabel(demo) };
    assert.equal(statusBarText(d), '$(sparkle) Lockstep: lockstep-target (demo) · auto · seed 0');
    assert.ok(statusTooltip(d).includes(`\nTarget: lockstep-target — ${demoLabel(demo)}\nSet up a real model: Lockstep: Set Up a Model\n`), statusTooltip(d));
  });
  test('snoozed; a language the target does not complete', () => {
    assert.equal(statusBarText({ ...base, snoozed: 'snoozed until 09:15' }), '$(bell-slash) Lockstep: snoozed until 09:15');
    assert.match(statusTooltip({ ...base, snoozed: 'snoozed until 09:15' }), /^Lockstep — snoozed until 09:15/);
    assert.equal(statusBarText({ ...base, enabled: false, snoozed: 'snoozed until 09:15' }), '$(circle-slash) Lockstep: off');
    const note = languageMismatch(demo, 'python')!;
    assert.ok(statusTooltip({ ...base, languageNote: note }).includes(`\nNot completing this file: ${note}\n`));
  });
});

describe('language notices', () => {
  const store = (): { data: Map<string, unknown>; get<T>(k: string): T | undefined; update(k: string, v: unknown): Promise<void> } => {
    const data = new Map<string, unknown>();
    return { data, get: <T>(k: string) => data.get(k) as T | undefined, update: async (k, v) => void data.set(k, v) };
  };
  test('once per language; "Set Up a Model" runs the setup; "Don\'t show again" is remembered', async () => {
    const memento = store();
    const n = new LanguageNotices(memento, () => undefined);
    const before = fake.messages.length;
    fake.messageAnswer = (_t, actions) => {
      assert.deepEqual(actions, ['Set Up a Model', "Don't show again"]);
      return 'Set Up a Model';
    };
    assert.equal(n.check(demo, 'javascript'), undefined);
    assert.equal(n.check(demo, 'python'), languageMismatch(demo, 'python'));
    assert.equal(n.check(demo, 'python'), languageMismatch(demo, 'python'));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(fake.messages.slice(before), [{ level: 'info', text: `Lockstep: ${languageMismatch(demo, 'python')}` }]);
    assert.ok(fake.executed.includes('lockstep.setupModel'));
    fake.messageAnswer = () => "Don't show again";
    n.check(demo, 'go');
    await new Promise((r) => setImmediate(r));
    assert.equal(memento.data.get(LANGUAGE_NOTICE_KEY), true);
    const count = fake.messages.length;
    n.check(demo, 'rust');
    new LanguageNotices(memento, () => undefined).check(demo, 'python'); // a later session
    assert.equal(fake.messages.length, count);
    fake.messageAnswer = undefined;
  });
  test('an entry without languages completes every language', () => {
    const n = new LanguageNotices(undefined, () => undefined);
    assert.equal(n.check({ ...demo, languages: undefined }, 'python'), undefined);
    assert.equal(n.check(undefined, 'python'), undefined);
  });
});

describe('the extension: snooze, menu, languages (stand-in vscode)', () => {
  let api: LockstepApi;
  const JS = 'function average(values) {\n  let sum = 0;\n  for (const v of values) {\n    sum += v;\n  }\n  \n}\n';
  const PY = 'def average(values):\n    total = 0\n    for v in values:\n        total += v\n    \n';
  let docs = 0;
  const doc = (lang: 'javascript' | 'python'): FakeDocument =>
    new FakeDocument(fileUri(`/work/everyday-${++docs}.${lang === 'python' ? 'py' : 'js'}`), lang === 'python' ? PY : JS, lang);
  const cursor = (d: FakeDocument): Position => (d.languageId === 'python' ? new Position(4, 4) : new Position(5, 2));
  const provide = async (d: FakeDocument): Promise<string | undefined> => {
    const items = await fake.providers[0].provider.provideInlineCompletionItems(d, cursor(d), { triggerKind: 0, selectedCompletionInfo: undefined }, new CancellationTokenSource().token);
    return items?.[0]?.insertText;
  };
  const focus = (d: FakeDocument): void => {
    fake.activeTextEditor = { document: d, selection: { active: cursor(d) } };
    fake.activeEditorChanges.fire(fake.activeTextEditor);
  };
  /** Opens the menu and picks the item whose label matches; returns every label offered. */
  const menu = async (pick: RegExp | undefined, snoozeChoice?: RegExp): Promise<string[]> => {
    let labels: string[] = [];
    fake.quickPickAnswer = (items) => {
      const list = items as { label: string; minutes?: number }[];
      if ('minutes' in list[0]) return list.find((i) => snoozeChoice?.test(i.label));
      labels = list.map((i) => i.label);
      return pick && list.find((i) => pick.test(i.label));
    };
    await fake.commands.get('lockstep.showMenu')!();
    fake.quickPickAnswer = undefined;
    return labels;
  };

  before(async () => {
    fake.config = { threads: 1, maxTokens: 16 };
    api = await under.activate();
  });
  after(async () => {
    await under.close();
  });

  test('the status bar names the demo target; the tooltip says how to set up a real model', () => {
    focus(doc('javascript'));
    assert.match(fake.statusBar.text, /^\$\(sparkle\) Lockstep: lockstep-target \(demo\) · /);
    const tip = String(fake.statusBar.tooltip);
    assert.ok(tip.includes(demoLabel(demo)), tip);
    assert.ok(tip.includes('Set up a real model: Lockstep: Set Up a Model'), tip);
    assert.ok(!tip.includes('Not completing this file'), tip);
  });

  test('a Python document with the demo target: no completion, one notice, the tooltip says why; JavaScript completes', async () => {
    const py = doc('python');
    focus(py);
    const before = fake.messages.length;
    const n = api.generatedCount();
    assert.equal(await provide(py), undefined);
    assert.equal(await provide(doc('python')), undefined);
    // Language notices only (the first-run setup has its own notices).
    const notices = (): typeof fake.messages => fake.messages.slice(before).filter((m) => / was trained on /.test(m.text));
    assert.deepEqual(notices(), [{ level: 'info', text: `Lockstep: ${languageMismatch(demo, 'python')}` }]);
    assert.equal(api.generatedCount(), n, 'nothing generated for Python');
    assert.ok(String(fake.statusBar.tooltip).includes(`Not completing this file: ${languageMismatch(demo, 'python')}`));
    const js = doc('javascript');
    focus(js);
    assert.ok((await provide(js)) !== undefined, 'a JavaScript completion');
    assert.equal(api.generatedCount(), n + 1);
    assert.ok(!String(fake.statusBar.tooltip).includes('Not completing this file'));
    assert.equal(notices().length, 1, 'no further notice');
  });

  test('Snooze… from the menu: no completions, "snoozed until HH:MM" in the status bar; Resume brings them back', async () => {
    focus(doc('javascript'));
    const labels = await menu(/Snooze/, /^15 minutes$/);
    assert.ok(labels.some((l) => /Next Suggestion/.test(l)), labels.join('\n'));
    assert.ok(labels.some((l) => /Disable for javascript/.test(l)), labels.join('\n'));
    assert.ok(labels.some((l) => /Set Up a Model/.test(l)), labels.join('\n'));
    assert.match(fake.statusBar.text, /^\$\(bell-slash\) Lockstep: snoozed until \d\d:\d\d$/);
    assert.equal(await provide(doc('javascript')), undefined);
    const during = await menu(/^\$\(bell\) Resume$/);
    assert.ok(!during.some((l) => /Snooze/.test(l)));
    assert.match(fake.statusBar.text, /Lockstep: lockstep-target \(demo\)/);
    assert.ok((await provide(doc('javascript'))) !== undefined);
    // The command with minutes (keybindings, tests); Resume as a command.
    assert.match(String(await fake.commands.get('lockstep.snooze')!(5)), /^snoozed until \d\d:\d\d$/);
    assert.equal(await provide(doc('javascript')), undefined);
    await fake.commands.get('lockstep.resume')!();
    assert.ok((await provide(doc('javascript'))) !== undefined);
  });

  test('Disable / Enable for the active language from the menu', async () => {
    focus(doc('javascript'));
    await menu(/Disable for javascript/);
    assert.deepEqual(fake.config.disabledLanguages, ['javascript']);
    assert.equal(await provide(doc('javascript')), undefined);
    const labels = await menu(/Enable for javascript/);
    assert.ok(labels.some((l) => /Enable for javascript/.test(l)));
    assert.deepEqual(fake.config.disabledLanguages, []);
    assert.ok((await provide(doc('javascript'))) !== undefined);
  });
});
