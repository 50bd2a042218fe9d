/**
 * `lockstep complete --context-file`: cross-file context from the terminal, chosen as the extension chooses it
 * (snippets.ts) and put into the prompt in the target's repository format; the same bytes with every drafter with the
 * context on; unreadable files and misplaced options are one-line errors.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertOneLineError, run } from '../helpers/cli';
import { INVOICE_JS } from '../helpers/invoice';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-cli-context-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const UNRELATED = 'body { color: red; }\n';
const PREFIX = '// Prints a receipt for a cart.\nexport function printReceipt(cart, taxRate) {\n  const total = compute';
const SUFFIX = '\n}\n';
const invoice = path.join(tmp, 'invoice.js');
const css = path.join(tmp, 'style.css');
fs.writeFileSync(invoice, INVOICE_JS);
fs.writeFileSync(css, UNRELATED);

interface Completed {
  text: string;
  promptTokens: number;
  contextFiles?: string[];
  contextTokens?: number;
  contextSnippets: string[];
}

async function complete(...extra: string[]): Promise<Completed> {
  const t = extra.includes('--temperature') ? [] : ['--temperature', '0'];
  const r = await run('complete', '--prefix', PREFIX, '--suffix', SUFFIX, '--path', 'receipt.js', '--json', ...t,
    '--max-tokens', '12', '--mode', 'line', ...extra);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Completed;
}

describe('lockstep complete --context-file', () => {
  test('the other file\'s snippet goes into the prompt; a file sharing no identifier does not', async () => {
    const plain = await complete('--drafter', 'none');
    assert.equal(plain.contextFiles, undefined);
    assert.deepEqual(plain.contextSnippets, []);
    const ctx = await complete('--drafter', 'none', '--context-file', invoice, '--context-file', css);
    // outside the cwd a file is named by its base name; style.css shares no identifier with the cursor's lines
    assert.deepEqual(ctx.contextSnippets, ['invoice.js']);
    assert.deepEqual(ctx.contextFiles, ['invoice.js']);
    assert.ok(ctx.contextTokens! > 20 && ctx.promptTokens === plain.promptTokens + ctx.contextTokens!,
      `${ctx.promptTokens} prompt tokens with ${ctx.contextTokens} of context, ${plain.promptTokens} without`);
    // a budget too small for the snippet leaves the plain prompt
    const tight = await complete('--drafter', 'none', '--context-file', invoice, '--context-budget', '8');
    assert.equal(tight.contextFiles, undefined);
    assert.equal(tight.promptTokens, plain.promptTokens);
  });

  test('with the context on, every drafter gives the same bytes (T = 0 and T = 0.7)', async () => {
    for (const t of ['0', '0.7']) {
      const texts = new Set<string>();
      for (const d of ['none', 'prompt-lookup', 'lockstep-drafter-b', 'lockstep-drafter-a']) {
        texts.add((await complete('--drafter', d, '--context-file', invoice, '--temperature', t, '--seed', '3')).text);
      }
      assert.equal(texts.size, 1, `T = ${t}: ${JSON.stringify([...texts])}`);
    }
  });

  test('errors: an unreadable file, a budget without files, --path with a file position', async () => {
    const base = ['complete', '--prefix', PREFIX, '--max-tokens', '2'];
    assertOneLineError(await run(...base, '--context-file', path.join(tmp, 'nope.js')), /cannot read .*nope\.js: no such file/);
    assertOneLineError(await run(...base, '--context-file', tmp), /cannot read .*: it is a directory/);
    assertOneLineError(await run(...base, '--context-budget', '100'), /--context-budget goes with --context-file/);
    assertOneLineError(await run('complete', `${invoice}:2:3`, '--path', 'x.js'), /--path goes with --prefix/);
  });
});
