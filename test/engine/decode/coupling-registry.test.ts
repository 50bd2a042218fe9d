/**
 * The coupling registry (src/engine/decode/couplings/registry.ts) is the one list of couplings: what cannot import it
 * (package.json's `lockstep.coupling` setting) must equal it, and everything that takes a coupling by name (CLI and
 * bench options, request JSON, the extension's settings) takes exactly its ids. Each coupling's `invariant` claim is
 * checked position by position through the interface the decode loop uses.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  COUPLINGS, COUPLING_CHOICES_HELP, COUPLING_IDS, DEFAULT_COUPLING, INVARIANT_COUPLINGS, couplingSpec, isInvariantCoupling,
} from '../../../src/engine/decode/couplings/registry';
import { packageRoot } from '../../../src/models/catalog';
import { generationDefs } from '../../../src/cli/options';
import { completeHelp } from '../../../src/cli/completeCommand';
import { serveHelp } from '../../../src/cli/serveCommand';
import { verifyHelp } from '../../../src/cli/verifyCommand';
import { invarianceDefs, latencyDefs, speedDefs } from '../../../bench/options';
import { benchHelp } from '../../../bench/cli';
import { parseCompletionRequest, type RequestDefaults } from '../../../src/engine/request/requestJson';
import { validateSettings } from '../../../src/vscode/settings';
import { lmLogits } from '../../helpers/samplingInputs';

const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { default?: unknown; enum?: string[]; enumDescriptions?: string[] }> } };
};
const setting = manifest.contributes.configuration.properties['lockstep.coupling'];

describe('the coupling registry', () => {
  test('ids are unique; descriptions and titles are one line', () => {
    assert.equal(new Set(COUPLING_IDS).size, COUPLINGS.length);
    for (const c of COUPLINGS) {
      assert.match(c.id, /^[a-z][a-z0-9-]*$/, c.id);
      assert.ok(c.description.length > 0 && !c.description.includes('\n'), c.id);
      assert.ok(c.title.length > 0 && !c.title.includes('\n'), c.id);
      assert.equal(couplingSpec(c.id), c);
      assert.equal(isInvariantCoupling(c.id), c.invariant);
    }
    assert.throws(() => couplingSpec('gumble'), /unknown coupling gumble/);
    assert.equal(isInvariantCoupling('gumble'), false);
  });

  test('the default is an invariant coupling', () => {
    assert.ok(couplingSpec(DEFAULT_COUPLING).invariant);
    assert.deepEqual([...INVARIANT_COUPLINGS], COUPLINGS.filter((c) => c.invariant).map((c) => c.id));
  });

  test("package.json's lockstep.coupling: the registry's ids and descriptions in its order, its default", () => {
    assert.deepEqual(setting.enum, [...COUPLING_IDS]);
    // The default's description ends in " Default.", the rest is the registry's line.
    assert.deepEqual(setting.enumDescriptions, COUPLINGS.map((c) => `${c.description}${c.id === DEFAULT_COUPLING ? ' Default.' : ''}`));
    assert.equal(setting.default, DEFAULT_COUPLING);
  });
});

describe('every place that takes a coupling by name takes exactly the registry ids', () => {
  const parses = (def: { parse: (raw: string, flag: string) => unknown }, id: string): boolean => {
    try {
      return def.parse(id, '--coupling') === id;
    } catch {
      return false;
    }
  };

  test('CLI options and help', () => {
    for (const id of COUPLING_IDS) assert.ok(parses(generationDefs.coupling, id), id);
    assert.ok(!parses(generationDefs.coupling, 'gumble'));
    assert.equal(COUPLING_CHOICES_HELP, `${COUPLING_IDS.join(' | ')} (default ${DEFAULT_COUPLING})`);
    assert.ok(completeHelp().includes(COUPLING_CHOICES_HELP));
    assert.ok(serveHelp().includes(COUPLING_CHOICES_HELP));
    assert.ok(verifyHelp().includes(`couplings (repeatable; default ${INVARIANT_COUPLINGS.join(',')})`));
  });

  test('bench options and help: speed and latency take every coupling, invariance the invariant ones', () => {
    for (const c of COUPLINGS) {
      assert.ok(parses(speedDefs.coupling, c.id), c.id);
      assert.ok(parses(latencyDefs.coupling, c.id), c.id);
      assert.equal(parses(invarianceDefs.coupling, c.id), c.invariant, c.id);
    }
    assert.ok(benchHelp('speed').includes(`couplings (repeatable; default ${COUPLING_IDS.join(',')})`));
    assert.ok(benchHelp('invariance').includes(`couplings (repeatable; default ${INVARIANT_COUPLINGS.join(',')})`));
    assert.ok(benchHelp('latency').includes(`coupling (default ${DEFAULT_COUPLING})`));
  });

  test('request JSON and the extension settings', () => {
    const d: RequestDefaults = {
      drafter: 'none', coupling: DEFAULT_COUPLING, seed: 0, sampling: { temperature: 0.2, topK: 0, topP: 1 }, gamma: 'auto',
      maxTokens: 16, mode: 'line',
    };
    for (const id of COUPLING_IDS) {
      assert.equal(parseCompletionRequest({ before: 'x', coupling: id }, d).coupling, id);
      const { settings, problems } = validateSettings((key) => (key === 'coupling' ? id : undefined));
      assert.equal(settings.coupling, id);
      assert.deepEqual(problems, []);
    }
    assert.throws(() => parseCompletionRequest({ before: 'x', coupling: 'gumble' }, d), /coupling/);
    assert.equal(validateSettings(() => undefined).settings.coupling, DEFAULT_COUPLING);
  });
});

describe("each coupling's invariant flag holds at one position, through the decode loop's interface", () => {
  // A position is drafter-invariant when the target's token does not depend on what was drafted there: the same as
  // at the bonus position (draft −1). The drafter's rows are near the target's: drafts are often right, often wrong.
  const V = 256;
  const settings = { temperature: 1, topK: 0, topP: 1 };
  for (const c of COUPLINGS) {
    test(`${c.id}: ${c.invariant ? 'the target\'s token never depends on the draft' : 'the draft can change the target\'s token'}`, () => {
      let dependent = 0;
      let acceptedSome = 0;
      let rejectedSome = 0;
      for (let seed = 0; seed < 40; seed++) {
        const run = c.make(settings, settings, seed, V);
        const target = lmLogits(V, 1000 + seed);
        const noise = lmLogits(V, 2000 + seed);
        const drafterRow = target.map((l, i) => l + 0.25 * noise[i]); // a close but different model
        const position = 7 + seed;
        const q = new Float32Array(V);
        const draft = run.draft.dense ? run.draft.dense(drafterRow, position, q) : run.draft.sampler.sample(drafterRow, position);
        const y = run.target.choose(target, position, draft, run.draft.dense ? q : undefined);
        const accepted = run.target.accepted;
        assert.equal(accepted, y === draft, `seed ${seed}: accepted iff the token is the draft`);
        const own = run.target.choose(target, position, -1, undefined);
        assert.equal(run.target.accepted, false);
        if (y !== own) dependent++;
        if (accepted) acceptedSome++;
        else rejectedSome++;
      }
      if (c.invariant) assert.equal(dependent, 0);
      else assert.ok(dependent > 0, 'a coupling that is never drafter-dependent should be marked invariant');
      assert.ok(acceptedSome > 0 && rejectedSome > 0, `${acceptedSome} drafts accepted, ${rejectedSome} rejected`);
    });
  }
});
