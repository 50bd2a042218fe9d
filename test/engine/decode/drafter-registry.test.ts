/**
 * The drafter registry (src/engine/decode/drafters/): every kind's names read and written in one place, and every
 * surface that lists drafters derived from it — or, where it cannot be (package.json, the settings' message), checked
 * against it here: a new kind that one of them leaves out fails this test.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DRAFTER_KINDS } from '../../../src/engine/decode/drafters/registry';
import {
  BUILTIN_DRAFTERS, DRAFTER_USAGE, drafterKind, drafterModel, drafterNamesFor, formatDrafterSpec, isAutoCandidate, modelDrafterSpecs,
  parseDrafterSpec, withDrafterModel,
} from '../../../src/engine/decode/drafters/drafterSpec';
import { Engine } from '../../../src/engine/process/engine';
import { loadCatalog, packageRoot } from '../../../src/models/catalog';
import { completeHelp } from '../../../src/cli/completeCommand';
import { serveHelp } from '../../../src/cli/serveCommand';
import { speedDefs } from '../../../bench/options';
import { drafterChoices, resolveDrafter, resolveTarget, verifyDrafters, type ModelEnv } from '../../../src/vscode/enginePlan';
import { validateSettings } from '../../../src/vscode/settings';
import { DRAFTER_B_DIR, TARGET_DIR } from '../../helpers/models';

const MODELS = ['lockstep-drafter-b', '/abs/models/my-drafter', 'models/rel', 'C:\\models\\win'];

/** Each kind's names: the one it needs no model for, or one per sample model. */
function namesOf(kind: (typeof DRAFTER_KINDS)[number]): string[] {
  return kind.needsModel ? MODELS.map((m) => formatDrafterSpec(withDrafterModel(kind.spec(''), m))) : [formatDrafterSpec(kind.spec(''))];
}

/** What a description must say for a kind: a built-in's name; a model kind's usage (each word of a fallback's: "catalog id | directory"). */
function mentions(kind: (typeof DRAFTER_KINDS)[number], quote: string): string[] {
  if (!kind.needsModel) return [`${quote}${formatDrafterSpec(kind.spec(''))}${quote}`];
  return kind.fallback ? kind.usage.split(/[\s|]+/) : [`${quote}${kind.usage}${quote}`];
}

describe('drafter specs', () => {
  test('parse ∘ format round-trips for every kind, and each kind claims its own names', () => {
    for (const kind of DRAFTER_KINDS) {
      for (const name of namesOf(kind)) {
        const spec = parseDrafterSpec(name);
        assert.equal(spec.kind, kind.kind, name);
        assert.equal(formatDrafterSpec(spec), name);
        assert.deepEqual(parseDrafterSpec(formatDrafterSpec(spec)), spec);
        assert.equal(drafterModel(spec) !== undefined, kind.needsModel, name);
      }
    }
  });

  test('the names the format has always had', () => {
    assert.deepEqual(BUILTIN_DRAFTERS, ['none', 'prompt-lookup', 'auto']);
    assert.deepEqual(parseDrafterSpec('prompt-lookup+lockstep-drafter-b'), { kind: 'lookup-then-model', model: 'lockstep-drafter-b' });
    assert.deepEqual(parseDrafterSpec('lockstep-drafter-b'), { kind: 'model', model: 'lockstep-drafter-b' });
    // A name with nothing where its model goes still reads as its kind (callers say what is missing).
    assert.deepEqual(parseDrafterSpec('prompt-lookup+'), { kind: 'lookup-then-model', model: '' });
    assert.deepEqual(parseDrafterSpec(''), { kind: 'model', model: '' });
    assert.equal(DRAFTER_USAGE, 'none | prompt-lookup | auto | catalog id | directory | prompt-lookup+<model>');
    assert.deepEqual(drafterNamesFor(['a', 'b']), ['none', 'prompt-lookup', 'auto', 'a', 'b', 'prompt-lookup+a', 'prompt-lookup+b']);
    assert.deepEqual(modelDrafterSpecs('a').map(formatDrafterSpec), ['a', 'prompt-lookup+a']);
    assert.deepEqual(['none', 'auto', 'prompt-lookup', 'a', 'prompt-lookup+a'].filter(isAutoCandidate), ['prompt-lookup', 'a', 'prompt-lookup+a']);
  });

  test('exactly one kind takes the names no other claims, and only one kind loads the recommended model', () => {
    assert.equal(DRAFTER_KINDS.filter((k) => k.fallback).length, 1);
    assert.equal(DRAFTER_KINDS.filter((k) => k.loadsRecommended).length, 1);
    assert.equal(new Set(DRAFTER_KINDS.map((k) => k.kind)).size, DRAFTER_KINDS.length);
  });
});

describe('surfaces that list drafters mention every kind', () => {
  test("package.json's lockstep.drafter description", () => {
    type Setting = { markdownDescription?: string; default?: unknown };
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, Setting> } | { properties: Record<string, Setting> }[] };
    };
    const sections = ([] as { properties: Record<string, Setting> }[]).concat(pkg.contributes.configuration);
    const setting = sections.map((c) => c.properties['lockstep.drafter']).find((x) => x !== undefined)!;
    for (const kind of DRAFTER_KINDS) for (const m of mentions(kind, '`')) assert.ok(setting.markdownDescription!.includes(m), `${kind.kind}: ${m}`);
    assert.equal(drafterKind(parseDrafterSpec(String(setting.default))).loadsRecommended, true);
  });

  test("the drafter setting's message when its value is refused", () => {
    const { problems } = validateSettings((key) => (key === 'drafter' ? 7 : undefined));
    assert.equal(problems.length, 1);
    for (const kind of DRAFTER_KINDS) for (const m of mentions(kind, '"')) assert.ok(problems[0].message.includes(m), `${kind.kind}: ${m}`);
  });

  test('CLI help (complete, serve) and the bench options', () => {
    for (const text of [completeHelp(), serveHelp(), speedDefs.drafter.help ?? '']) {
      for (const kind of DRAFTER_KINDS) assert.ok(text.includes(kind.usage), `${kind.kind} in ${text}`);
    }
  });

  test('Choose Drafter offers each kind that applies, Verify compares each verified one, for a target with a drafter model', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-drafter-kinds-'));
    try {
      const env: ModelEnv = { catalog: loadCatalog(), cacheDir: path.join(tmp, 'cache'), baseDir: tmp };
      const target = resolveTarget('lockstep-target', env);
      const offered = drafterChoices(target, env).map((c) => c.spec);
      const verified = verifyDrafters(target, env).map((d) => d.spec);
      for (const kind of DRAFTER_KINDS) {
        const names = kind.needsModel ? ['lockstep-drafter-a', 'lockstep-drafter-b'].map((m) => formatDrafterSpec(kind.spec(m))) : [formatDrafterSpec(kind.spec(''))];
        for (const n of names) {
          assert.ok(offered.includes(n), `Choose Drafter offers ${n}`);
          assert.equal(verified.includes(n), kind.verified, `Verify compares ${n}`);
          // Every name the picker writes is one the plan can use as it is.
          assert.equal(resolveDrafter(n, target, env).problem, undefined, n);
        }
      }
      assert.deepEqual(offered.slice(0, 3), ['auto', 'none', 'prompt-lookup'], 'the default first');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

test('the engine makes every kind through the registry, under the names drafterSpec.ts writes', async () => {
  const engine = await Engine.create({ target: TARGET_DIR, threads: 1, drafters: [{ name: 'b', dir: DRAFTER_B_DIR }] });
  try {
    assert.deepEqual(engine.drafterNames(), [...BUILTIN_DRAFTERS, ...modelDrafterSpecs('b').map(formatDrafterSpec)]);
    assert.deepEqual(engine.info().models.map((m) => m.name), ['target', 'b']);
    await assert.rejects(engine.addDrafter({ name: 'b', dir: DRAFTER_B_DIR }), /already loaded/);
  } finally {
    await engine.dispose();
  }
});
