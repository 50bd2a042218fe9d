/**
 * `lockstep complete --request FILE`: the whole request as JSON (what `lockstep serve` answers in lockstep.request).
 * It carries the prompt and every setting, so flags that would decide them too are refused; a file that is not a
 * valid request is one line naming the field.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PREFIX, assertOneLineError, run } from '../helpers/cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-request-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

test('--request runs the request as written: the same text as the flags that mean the same', async () => {
  const req = file('ok.json', JSON.stringify({ before: PREFIX, after: '', drafter: 'none', seed: 3, maxTokens: 8, mode: 'free', sampling: { temperature: 0.5, topK: 0, topP: 1 } }));
  const a = await run('complete', '--request', req);
  const b = await run('complete', '--prefix', PREFIX, '--drafter', 'none', '--seed', '3', '--max-tokens', '8', '--mode', 'free', '--temperature', '0.5');
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
});

test('--request with a flag it already carries is a usage error (2)', async () => {
  const req = file('flags.json', JSON.stringify({ before: 'x' }));
  const r = await run('complete', '--request', req, '--seed', '1', '--prefix', 'y');
  assert.equal(r.code, 2);
  assertOneLineError(r, /--request carries the prompt and every setting: drop --seed, --prefix/);
});

test('a request file that is not JSON, or has a wrong field, is one line (exit 1)', async () => {
  const bad = await run('complete', '--request', file('bad.json', '{"before": '));
  assert.equal(bad.code, 1);
  assertOneLineError(bad, /--request .*bad\.json is not JSON/);
  const wrong = await run('complete', '--request', file('wrong.json', JSON.stringify({ before: 'x', gamma: 99 })));
  assert.equal(wrong.code, 1);
  assertOneLineError(wrong, /--request .*wrong\.json: gamma must be an integer from 0 to 32, got 99/);
});
