/**
 * The CLI is honest about the bundled demo target (catalog `"demo": true`): the stats line names it as a demo model,
 * its notice (modelNotices.demoNotice) follows once on stderr, --json carries `demo` and `notice`; a model that is
 * not a demo gets none of it. A file in a language the target was not trained on is completed with one warning
 * (modelNotices.languageMismatch). `npm run demo` says at the top that the models are a demo and ends with the notice.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { demo } from '../../src/cli/demo';
import { findEntry, loadCatalogOrBundled, packageRoot } from '../../src/models/catalog';
import { demoLabel, demoNotice, languageMismatch } from '../../src/models/modelNotices';
import { PREFIX, run } from '../helpers/cli';

const root = packageRoot();
const entry = findEntry(loadCatalogOrBundled(), 'lockstep-target')!;
const NOTICE = demoNotice(entry, 'cli')!;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-demo-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
/** The shipped target's files in a folder no catalog entry names: the same weights, not a demo entry. */
const plainTarget = path.join(tmp, 'plain-target');
fs.cpSync(path.join(root, 'models', 'lockstep-target'), plainTarget, { recursive: true });

const ARGS = ['--max-tokens', '4', '--drafter', 'none', '--temperature', '0'];
const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');

describe('the demo target in the CLI', () => {
  test('text: the stats line names the demo; the notice follows it once', async () => {
    const r = await run('complete', '--prefix', PREFIX, ...ARGS);
    assert.equal(r.code, 0, r.stderr);
    const err = lines(r.stderr);
    assert.equal(err.length, 2, r.stderr);
    assert.ok(err[0].includes(`· target lockstep-target (${demoLabel(entry)}) ·`), err[0]);
    assert.equal(err[1], `lockstep: ${NOTICE}`);
    assert.match(NOTICE, /lockstep download qwen2\.5-coder-1\.5b/);
  });

  test('--json: "demo": true and the notice; nothing extra on stderr', async () => {
    const r = await run('complete', '--prefix', PREFIX, ...ARGS, '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { demo: boolean; notice?: string };
    assert.equal(j.demo, true);
    assert.equal(j.notice, NOTICE);
    assert.equal(r.stderr, '');
  });

  test('a target that is not a demo entry: no label, no notice, "demo": false', async () => {
    const r = await run('complete', '--prefix', PREFIX, ...ARGS, '--target', plainTarget);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stderr).length, 1, r.stderr);
    assert.ok(lines(r.stderr)[0].includes(`· target ${plainTarget} ·`));
    assert.doesNotMatch(r.stderr, /demo model|demo of the engine/);
    const j = JSON.parse((await run('complete', '--prefix', PREFIX, ...ARGS, '--target', plainTarget, '--json')).stdout) as Record<string, unknown>;
    assert.equal(j.demo, false);
    assert.equal('notice' in j, false);
  });
});

describe('a language the target was not trained on', () => {
  const py = path.join(tmp, 'fib.py');
  fs.writeFileSync(py, 'def fibonacci(n):\n    return \n');
  const warning = `lockstep: warning: ${languageMismatch(entry, 'python', 'cli')}`;

  test('a .py file (position, --path, --prefix-file) with the demo target: one warning, and the completion', async () => {
    for (const argv of [[`${py}:2:12`], ['--prefix', 'def f(n):\n    return ', '--path', 'fib.py'], ['--prefix-file', py]]) {
      const r = await run('complete', ...argv, ...ARGS, '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stderr), [warning], argv.join(' '));
      assert.equal(typeof (JSON.parse(r.stdout) as { text: string }).text, 'string');
    }
  });

  test('no warning for JavaScript, an unknown extension, or a model without a language list', async () => {
    const js = path.join(tmp, 'f.js');
    fs.writeFileSync(js, PREFIX);
    for (const argv of [[`${js}:1:1`], ['--prefix', PREFIX, '--path', 'notes.xyz'], [`${py}:2:12`, '--target', plainTarget]]) {
      const r = await run('complete', ...argv, ...ARGS, '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', argv.join(' '));
    }
  });
});

describe('npm run demo', () => {
  test('says at the top that the target is a demo model and ends with how to get a real one', async () => {
    let out = '';
    const code = await demo((s) => void (out += s));
    assert.equal(code, 0, out);
    const all = lines(out);
    assert.ok(all[0].includes(`target lockstep-target — a ${demoLabel(entry)}`), all[0]);
    assert.equal(all[all.length - 1], `Note: ${NOTICE}`);
  });
});
