/**
 * The CLI's usage and errors: a bad option, value, command, model, drafter, position or file is one line on stderr
 * ("lockstep: …") with no stack trace unless --debug; --help, help <command> and --version.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../src/models/catalog';
import { assertOneLineError, fixture, run } from '../helpers/cli';

const root = packageRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('lockstep complete', () => {
  test('bad option, bad values and bad usage → one line, no stack', async () => {
    assertOneLineError(await run('complete', '--bogus', 'x'), /unknown option --bogus/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--temperature', '-1'), /--temperature must be a number ≥ 0/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--top-p', '0'), /--top-p must be a number in \(0, 1\]/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--gamma', '33'), /--gamma/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--coupling', 'best'), /--coupling must be one of gumbel, wmh, standard/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--seed'), /--seed needs a value/);
    assertOneLineError(await run('complete'), /nothing to complete/);
    assertOneLineError(await run('frobnicate'), /unknown command 'frobnicate'/);
  });

  test('missing model directory / not a model directory / unknown drafter → one line', async () => {
    assertOneLineError(await run('complete', '--prefix', 'x', '--target', path.join(tmp, 'no-such-model')), /unknown model '.*no-such-model': not a catalog id \(known: lockstep-target.*\) and not a directory/);
    fs.mkdirSync(path.join(tmp, 'empty-dir'), { recursive: true });
    assertOneLineError(await run('complete', '--prefix', 'x', '--target', path.join(tmp, 'empty-dir')), /config\.json is missing/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--drafter', 'nosuch'), /drafter: unknown model 'nosuch'/);
  });

  test('line or column out of range, unreadable file → one line', async () => {
    assertOneLineError(await run('complete', `${fixture}:9999:1`), /line 9999 is out of range \(the file has \d+ lines\)/);
    assertOneLineError(await run('complete', `${fixture}:1:500`), /column 500 is out of range/);
    assertOneLineError(await run('complete', path.join(tmp, 'nope.js:1:1')), /cannot read .*nope\.js: no such file/);
    assertOneLineError(await run('complete', 'no-position.js'), /expected <file>:<line>:<col>/);
  });

  test('--debug adds the stack', async () => {
    const r = await run('complete', `${fixture}:9999:1`, '--debug');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^lockstep: .*out of range.*\n/);
    assert.match(r.stderr, /\n\s+at /);
  });
});

describe('help and version', () => {
  test('--help, help <cmd>, --version', async () => {
    const h = await run('--help');
    assert.equal(h.code, 0);
    assert.match(h.stdout, /lockstep complete <file>:<line>:<col>/);
    const hc = await run('help', 'verify');
    assert.match(hc.stdout, /--cases N/);
    const v = await run('--version');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    assert.equal(v.stdout.trim(), `lockstep ${pkg.version}`);
  });
});
