/**
 * The training tools' own unit tests (tools/test_*.py: the sample code that needs neither torch nor a tokenizer),
 * run with the machine's python3 so that they run in CI with the rest.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const TOOLS = path.join(__dirname, '..', '..', '..', 'tools');

test('tools/test_*.py pass (python3 -m unittest)', () => {
  const files = fs.readdirSync(TOOLS).filter((f) => /^test_.*\.py$/.test(f));
  assert.ok(files.length > 0, 'no tools/test_*.py found');
  const r = spawnSync('python3', ['-m', 'unittest', ...files.map((f) => f.replace(/\.py$/, ''))], { cwd: TOOLS, encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  assert.equal(r.error, undefined, `python3 could not be run: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Ran [1-9]\d* tests?/);
});
