/**
 * `lockstep verify`: every comparison identical with the invariant couplings (exit 0, the verdict line), the
 * non-invariant standard coupling caught (mismatches listed, exit 1), a maxTokens the context cannot hold capped once,
 * and bad options as one line.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { assertOneLineError, fixture, fixturePos, run } from '../helpers/cli';

describe('lockstep verify', () => {
  test('--json on 2 cases: every comparison identical, exit 0', async () => {
    const r = await run('verify', '--cases', '2', '--json', '--max-tokens', '10', '--gamma', '1,4');
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
    const j = JSON.parse(r.stdout) as { cases: number; identical: number; mismatches: unknown[]; caseCount: number; drafters: string[] };
    assert.equal(j.caseCount, 2);
    // 2 cases × 2 couplings × 2 temperatures × (2 shipped drafters + prompt-lookup) × 2 γ
    assert.equal(j.cases, 2 * 2 * 2 * 3 * 2);
    assert.equal(j.identical, j.cases);
    assert.deepEqual(j.mismatches, []);
    assert.deepEqual([...j.drafters].sort(), ['lockstep-drafter-a', 'lockstep-drafter-b', 'prompt-lookup']);
  });

  test('plain output ends with the verdict line', async () => {
    const r = await run('verify', '--cases', '1', '--max-tokens', '6', '--gamma', '2', '--temperature', '0.5', '--coupling', 'wmh', '--drafter', 'lockstep-drafter-a');
    assert.equal(r.code, 0, r.stderr);
    const last = r.stdout.trim().split('\n').at(-1)!;
    assert.equal(last, 'verdict: IDENTICAL — all 1 comparisons gave byte-identical text (1 cases × 1 couplings × 1 temperatures × 1 drafters × 1 γ)');
  });

  test('the non-invariant standard coupling is caught: mismatches listed, exit 1', async () => {
    const r = await run('verify', '--cases', '3', '--json', '--coupling', 'standard', '--temperature', '1', '--max-tokens', '24', '--drafter', 'lockstep-drafter-a', '--gamma', '4', '--file', fixturePos);
    const j = JSON.parse(r.stdout) as { cases: number; identical: number; mismatches: Record<string, unknown>[] };
    assert.equal(j.cases, 3);
    assert.ok(j.mismatches.length > 0, 'standard speculative sampling changed no text at T=1 — suspicious');
    assert.equal(r.code, 1);
    const m = j.mismatches[0];
    for (const k of ['prompt', 'seed', 'coupling', 'temperature', 'gamma', 'drafter', 'expected', 'actual']) assert.ok(k in m, `mismatch lacks ${k}`);
    assert.notEqual(m.expected, m.actual);
    assert.equal(j.identical + j.mismatches.length, j.cases);
  });

  test('a maxTokens the context cannot hold is capped and reported once on stderr', async () => {
    const r = await run('verify', '--cases', '2', '--drafter', 'prompt-lookup', '--gamma', '2', '--coupling', 'gumbel,wmh',
      '--temperature', '0', '--mode', 'line', '--max-tokens', '4096', '--json');
    assert.equal(r.code, 0, r.stderr);
    // Besides the note on which file was loaded (the fused-operator copy, part of what was verified): one line.
    const loaded = /^lockstep: target: model\.onnx: using (?:its|a) fused-operator copy/;
    const lines = r.stderr.split('\n').filter((l) => l !== '' && !loaded.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^lockstep: maxTokens 4096 does not fit the target's context of 512 positions/);
    const notes = (JSON.parse(r.stdout) as { notes: string[] }).notes.filter((n) => !loaded.test(`lockstep: ${n}`));
    assert.deepEqual(notes, [lines[0].slice('lockstep: '.length)]);
  });

  test('bad verify options → one line', async () => {
    assertOneLineError(await run('verify', '--cases', '0'), /--cases must be an integer ≥ 1/);
    assertOneLineError(await run('verify', '--gamma', '1,x'), /--gamma must be an integer from 0 to 32 or "auto"/);
    assertOneLineError(await run('verify', '--file', `${fixture}:0:1`), /line 0 is out of range/);
  });
});
