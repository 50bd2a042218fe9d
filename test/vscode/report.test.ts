/** Verify report, status bar text and download helpers of the extension (src/vscode/{verify,format,download}.ts). */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { CatalogEntry } from '../../src/models/catalog';
import { approximateSize, downloadAll, formatBytes, percentOf, type DownloadFn } from '../../src/vscode/download';
import { completionTitle, statusBarText, statusTooltip, type StatusInfo } from '../../src/vscode/format';
import { fenceFor, firstDifference, summarizeVerify, type VerifyMeta, type VerifyRun } from '../../src/vscode/verify';

const META: VerifyMeta = {
  position: 'src/a.js:3:5', target: 'lockstep-target', seed: 7, temperature: 0.2, topP: 1, topK: 0, maxTokens: 64, mode: 'line', draftTokens: 'auto',
};

function run(drafter: string, coupling: 'gumbel' | 'wmh', text?: string, error?: string): VerifyRun {
  return { drafter, coupling, text, error, tokens: 5, tokensPerSecond: 100, drafted: 4, accepted: 3, seconds: 0.05 };
}

describe('summarizeVerify', () => {
  test('identical within each coupling (the couplings may differ from each other) → all identical', () => {
    const runs = [
      run('none', 'gumbel', 'return a + b;'), run('prompt-lookup', 'gumbel', 'return a + b;'), run('lockstep-drafter-a', 'gumbel', 'return a + b;'),
      run('none', 'wmh', 'return b + a;'), run('prompt-lookup', 'wmh', 'return b + a;'), run('lockstep-drafter-a', 'wmh', 'return b + a;'),
    ];
    const o = summarizeVerify(runs, META);
    assert.equal(o.identical, true);
    assert.equal(o.groups.length, 2);
    assert.ok(o.groups.every((g) => g.identical && g.variants.length === 1));
    assert.match(o.markdown, /✅ All identical/);
    assert.match(o.markdown, /\| gumbel \| lockstep-drafter-a \| ✅ yes \|/);
    assert.match(o.markdown, /seed \| 7/);
    assert.match(o.summary, /3 drafters × 2 couplings/);
  });

  test('a mismatch is reported with the first differing position and both texts', () => {
    const o = summarizeVerify([run('none', 'gumbel', 'return a + b;'), run('lockstep-drafter-b', 'gumbel', 'return a - b;')], META);
    assert.equal(o.identical, false);
    assert.match(o.markdown, /❌ no \(first difference at 9\)/);
    assert.match(o.markdown, /Text 1 — none/);
    assert.match(o.markdown, /Text 2 — lockstep-drafter-b/);
    assert.match(o.summary, /FAILED/);
  });

  test('a failed run makes the result not identical', () => {
    const o = summarizeVerify([run('none', 'gumbel', 'x'), run('d', 'gumbel', undefined, 'worker died')], META);
    assert.equal(o.identical, false);
    assert.match(o.markdown, /error: worker died/);
  });

  test('no runs → not identical', () => {
    assert.equal(summarizeVerify([], META).identical, false);
  });

  test('completions containing backticks and pipes stay verbatim', () => {
    const text = 'const s = `a | b`;\n```\n';
    const o = summarizeVerify([run('none', 'gumbel', text), run('prompt-lookup', 'gumbel', text)], META);
    assert.ok(o.markdown.includes(`${fenceFor(text)}\n${text}${fenceFor(text)}`));
    assert.equal(fenceFor(text), '````');
    assert.equal(fenceFor('plain'), '```');
  });

  test('firstDifference', () => {
    assert.equal(firstDifference('abc', 'abc'), -1);
    assert.equal(firstDifference('abc', 'abd'), 2);
    assert.equal(firstDifference('ab', 'abc'), 2);
  });
});

describe('status bar', () => {
  const base: StatusInfo = {
    enabled: true, state: { kind: 'ready' }, target: 'lockstep-target', drafter: 'lockstep-drafter-b', seed: 7,
    seedOverridden: false, coupling: 'gumbel',
  };
  test('ready: target, drafter and seed, then tokens/s and acceptance after a completion', () => {
    assert.equal(statusBarText(base), '$(sparkle) Lockstep: lockstep-target · lockstep-drafter-b · seed 7');
    const s = statusBarText({ ...base, last: { tokens: 20, tokensPerSecond: 123.4, drafted: 10, accepted: 8, acceptance: 0.8 } });
    assert.equal(s, '$(sparkle) Lockstep: lockstep-target · 123 tok/s · 80% · lockstep-drafter-b · seed 7');
    assert.match(statusBarText({ ...base, last: { tokens: 2, tokensPerSecond: 9.25, drafted: 0, accepted: 0, acceptance: 0 } }), /9\.3 tok\/s · —/);
  });
  test('loading, downloading, error, off', () => {
    assert.match(statusBarText({ ...base, state: { kind: 'loading', target: 't' } }), /loading/);
    assert.equal(statusBarText({ ...base, state: { kind: 'downloading', model: 'm', percent: 42.7 } }), '$(cloud-download) Lockstep 42%');
    assert.match(statusBarText({ ...base, state: { kind: 'error', message: 'boom' } }), /error/);
    assert.match(statusBarText({ ...base, enabled: false }), /off/);
    assert.match(statusTooltip({ ...base, state: { kind: 'error', message: 'boom' } }), /error: boom/);
  });
  test('the tooltip says where the seed comes from and flags the standard coupling', () => {
    assert.match(statusTooltip({ ...base, seedOverridden: true }), /Seed: 7 \(chosen this session/);
    assert.match(statusTooltip({ ...base, coupling: 'standard' }), /not drafter-invariant/);
  });
  test('a completion title carries what reproduces it', () => {
    const t = completionTitle({ seed: 7, drafter: 'prompt-lookup', coupling: 'gumbel', tokens: 12, tokensPerSecond: 50 });
    assert.match(t, /seed 7/);
    assert.match(t, /gumbel/);
    assert.match(t, /drafter prompt-lookup/);
  });
});

describe('downloads', () => {
  const entry = (id: string): CatalogEntry => ({ id, name: id, role: 'drafter', family: 'f', repo: `org/${id}`, commit: 'main' });

  test('percentOf', () => {
    assert.equal(percentOf(50, 200), 25);
    assert.equal(percentOf(10, undefined), undefined);
    assert.equal(percentOf(10, 0), undefined);
    assert.equal(percentOf(300, 200), 100);
  });

  test('formatBytes and approximateSize', () => {
    assert.equal(formatBytes(999), '999 B');
    assert.equal(formatBytes(1_500_000), '1.5 MB');
    assert.equal(formatBytes(987_000_000), '987 MB');
    const e: CatalogEntry = { ...entry('x'), files: [{ path: 'config.json', size: 1000 }], variants: { q4: { files: [{ path: 'onnx/model_q4.onnx', size: 5000 }] } } };
    assert.equal(approximateSize(e), 6000);
    assert.equal(approximateSize({ ...e, variants: { q4: { files: [], approxBytes: 123 } } }), 123);
    assert.equal(approximateSize(entry('y')), undefined);
  });

  test('downloadAll: passes the options, reports progress, collects results and errors', async () => {
    const calls: string[] = [];
    const fake: DownloadFn = async (e, o) => {
      calls.push(`${e.id} ${o.endpoint} ${o.cacheDir}`);
      o.onProgress?.(50, 100, { stage: 'downloading', file: 'onnx/model.onnx' });
      if (e.id === 'bad') throw new Error('HTTP 404');
      return `/cache/${e.id}`;
    };
    const reports: [number, number | undefined][] = [];
    const out = await downloadAll(fake, [entry('a'), entry('bad')], { endpoint: 'https://hf.example', cacheDir: '/cache' }, (i, _e, p) => reports.push([i, p]));
    assert.deepEqual(calls, ['a https://hf.example /cache', 'bad https://hf.example /cache']);
    assert.deepEqual(out, [
      { id: 'a', ok: true, cancelled: false, dir: '/cache/a' },
      { id: 'bad', ok: false, cancelled: false, error: 'HTTP 404' },
    ]);
    assert.deepEqual(reports, [[0, 0], [0, 50], [0, 100], [1, 0], [1, 50]]);
  });

  test('downloadAll: cancellation stops the rest', async () => {
    const ac = new AbortController();
    const fake: DownloadFn = async (_e, o) => {
      ac.abort();
      throw Object.assign(new Error('cancelled'), { aborted: o.signal?.aborted });
    };
    const out = await downloadAll(fake, [entry('a'), entry('b')], { signal: ac.signal }, () => undefined);
    assert.deepEqual(out.map((o) => [o.id, o.ok, o.cancelled]), [['a', false, true], ['b', false, true]]);
  });
});
