/**
 * Where `lockstep complete` takes its text from: --prefix-file / --suffix-file (- = stdin) give the same prompt as
 * --prefix / --suffix, a 2 MB prefix works through a file, stdin is read once at most, conflicting sources are usage
 * errors; --prefix is literal (a backslash-n earns one note); input that is not UTF-8 is refused with the place of
 * its first bad byte — from a file position, --prefix-file, --context-file and a real process's stdin; an empty
 * completion says so on stderr.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { packageRoot } from '../../src/models/catalog';
import { PREFIX, Run, SUFFIX, assertOneLineError, run } from '../helpers/cli';

const root = packageRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-input-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, content: string | Buffer): string => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, content);
  return file;
};

/** `lockstep <argv>` in-process with `stdin` as standard input. */
async function runWithStdin(stdin: string, ...argv: string[]): Promise<Run & { stdinReads: number }> {
  let stdout = '';
  let stderr = '';
  let stdinReads = 0;
  const code = await main(argv, {
    stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), cwd: root,
    readStdin: async () => {
      stdinReads++;
      return stdin;
    },
  });
  return { code, stdout, stderr, stdinReads };
}

const GREEDY = ['--json', '--max-tokens', '8', '--mode', 'free', '--temperature', '0', '--drafter', 'none'];
const text = (r: Run): string => (JSON.parse(r.stdout) as { text: string }).text;
const promptTokens = (r: Run): number => (JSON.parse(r.stdout) as { promptTokens: number }).promptTokens;

describe('--prefix-file and --suffix-file', () => {
  test('a file, or stdin with -, gives the prompt --prefix and --suffix give', async () => {
    const direct = await run('complete', '--prefix', PREFIX, '--suffix', SUFFIX, ...GREEDY);
    assert.equal(direct.code, 0, direct.stderr);
    const before = write('before.js', PREFIX);
    const afterFile = write('after.js', SUFFIX);
    const files = await run('complete', '--prefix-file', before, '--suffix-file', afterFile, ...GREEDY);
    assert.equal(files.code, 0, files.stderr);
    assert.equal(text(files), text(direct));
    assert.equal(promptTokens(files), promptTokens(direct));
    const viaStdin = await runWithStdin(PREFIX, 'complete', '--prefix-file', '-', '--suffix-file', afterFile, ...GREEDY);
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
    assert.equal(text(viaStdin), text(direct));
    assert.equal(viaStdin.stdinReads, 1);
    const suffixStdin = await runWithStdin(SUFFIX, 'complete', '--prefix', PREFIX, '--suffix-file', '-', ...GREEDY);
    assert.equal(text(suffixStdin), text(direct));
     // -:<line>:<col>: a cursor in stdin's text (the rest of it is the text after the cursor).
    const lines = PREFIX.split('\n');
    const atEnd = await runWithStdin(PREFIX + SUFFIX, 'complete', `-:${lines.length}:${lines[lines.length - 1].length + 1}`, ...GREEDY);
    assert.equal(atEnd.code, 0, atEnd.stderr);
    assert.equal(text(atEnd), text(direct));
  });

  test('a 2 MB prefix works through a file (the engine keeps the end that fits)', async () => {
    let big = '';
    while (big.length < 2 * 1024 * 1024) big += `// filler line ${big.length}\nfunction f${big.length}(x) {\n  return x + 1;\n}\n`;
    const file = write('big.js', big + PREFIX);
    const t0 = Date.now();
    const r = await run('complete', '--prefix-file', file, ...GREEDY);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(promptTokens(r) > 30, `prompt kept: ${promptTokens(r)} tokens`);
    assert.ok(Date.now() - t0 < 60_000, 'a 2 MB prefix took over a minute');
  });

  test('conflicting or doubled sources are usage errors (exit 2, one line)', async () => {
    const f = write('p.js', PREFIX);
    const cases: [string[], RegExp][] = [
      [['--prefix', 'x', '--prefix-file', f], /give one of .* not --prefix and --prefix-file/],
      [[`${f}:1:1`, '--prefix-file', f], /not a position and --prefix-file/],
      [['--prefix', 'x', '--suffix', 'y', '--suffix-file', f], /--suffix or --suffix-file, not both/],
      [['-', '--suffix-file', '-'], /stdin can be read once/],
      [['--prefix-file', '-', '--suffix-file', '-'], /stdin can be read once/],
      [[`${f}:1:1`, '--suffix-file', f], /a position has its own text after the cursor/],
      [['-:1:1', '--suffix', 'x'], /a position has its own text after the cursor/],
      [['--prefix-file', path.join(tmp, 'missing.js')], /cannot read .*missing\.js: no such file/],
    ];
    for (const [argv, re] of cases) {
      const r = await run('complete', ...argv);
      assertOneLineError(r, re);
      assert.equal(r.code, re.source.includes('no such file') ? 1 : 2, `${argv.join(' ')}: ${r.stderr}`);
    }
  });
});

describe('--prefix is literal', () => {
  test('a backslash-n without a line break is kept as written, with one note naming the ways to pass line breaks', async () => {
    const r = await run('complete', '--prefix', 'function f() {\\n  return', ...GREEDY);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^lockstep: note: --prefix holds \\n as two characters .* --prefix \$'a\\nb' \(bash, zsh\) or --prefix-file FILE$/);
    assert.equal((JSON.parse(r.stdout) as { position: string }).position, '--prefix');
    // A real line break (what $'…' gives) earns no note.
    const ok = await run('complete', '--prefix', 'function f() {\n  return', ...GREEDY);
    assert.equal(ok.stderr, '');
  });

  test('--help says how to pass line breaks and what happens to non-UTF-8 input', async () => {
    const h = await run('help', 'complete');
    assert.match(h.stdout, /--prefix-file FILE +read the text before the cursor from FILE \(- = stdin\)/);
    assert.match(h.stdout, /\$'a\\nb' in bash\/zsh/);
    assert.match(h.stdout, /not UTF-8 is refused \(exit 1\)/);
    assert.match(h.stdout, /\(empty completion\)/);
  });
});

describe('input that is not UTF-8 is refused', () => {
  const latin1 = Buffer.concat([Buffer.from('function caf(x) {\n  return "caf'), Buffer.from([0xe9]), Buffer.from('";\n}\n')]);

  test('a file position, --prefix-file, --suffix-file and --context-file: one line naming the file and the byte', async () => {
    const file = write('latin1.js', latin1);
    const good = write('good.js', PREFIX);
    const byte = /is not UTF-8 text \(byte 0xE9 at offset 31, line 2\).*iconv/;
    for (const argv of [[`${file}:2:3`], ['--prefix-file', file], ['--prefix-file', good, '--suffix-file', file], ['--prefix', 'x', '--context-file', file]]) {
      const r = await run('complete', ...argv);
      assertOneLineError(r, new RegExp(`latin1\\.js ${byte.source}`));
      assert.equal(r.code, 1);
    }
  });

  test('stdin of the real process (- and --prefix-file -)', () => {
    const cli = path.join(root, 'out', 'src', 'cli', 'index.js');
    for (const argv of [['complete', '-'], ['complete', '--prefix-file', '-']]) {
      const r = spawnSync(process.execPath, [cli, ...argv], { input: latin1, encoding: 'utf8', cwd: root });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^lockstep: stdin is not UTF-8 text \(byte 0xE9 at offset 31, line 2\)[^\n]*\n$/);
    }
  });

  test('valid UTF-8 (multi-byte characters, a BOM) is read as it is', async () => {
    const file = write('utf8.js', `\uFEFF// café — ünïcödé 😀\n${PREFIX}`);
    const r = await run('complete', '--prefix-file', file, ...GREEDY);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('an empty completion', () => {
  test('stdout stays empty and stderr says (empty completion) before the stats line', async () => {
    // Line mode: a completion whose only token is a line break has no non-blank character, so its text is ''.
    const r = await run('complete', '--prefix', '// end', '--suffix', '\n', '--mode', 'line', '--temperature', '0', '--drafter', 'none', '--max-tokens', '1');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines[0], '(empty completion)');
    assert.match(lines[1], /^\[1 tokens · .* stop maxTokens\]$/);
    const json = await run('complete', '--prefix', '// end', '--suffix', '\n', '--mode', 'line', '--temperature', '0', '--drafter', 'none', '--max-tokens', '1', '--json');
    assert.equal((JSON.parse(json.stdout) as { text: string }).text, '');
    assert.doesNotMatch(json.stderr, /empty completion/, '--json carries "text": "" and prints nothing else');
  });
});
