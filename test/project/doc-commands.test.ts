/**
 * Every `lockstep` command in the code blocks of the documentation (README.md, docs/*.md and the generated
 * bench/RESULTS.md) runs as written on a fresh clone: the test builds the CLI as `npm ci` does (esbuild →
 * dist/cli.js), runs each command through bin/lockstep.js (what `npx lockstep` starts) from the repository root with
 * the page's exact words, and fails on a non-zero exit. Each test is named after its file and line. What is not run is
 * skipped by one of the rules in SKIPS, each with its reason; a rule that no longer matches any command fails too, so
 * the list stays small and true. One change is made to what runs, in SHRINK: verify's --cases is capped at 1 (the
 * check is that the command is accepted and runs; the pages' case counts take minutes each on 2 cores).
 */
import { before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../src/models/catalog';
import { ReadmeCommand, readmeCommands, shellWords } from '../helpers/readmeCommands';

const root = packageRoot();

/** The pages whose commands run: the README, every page of docs/, and the generated benchmark results. */
function docPages(): string[] {
  const docs = fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', ...docs, 'bench/RESULTS.md'];
}

/** A command of a page, named by its file (relative to the repository root). */
interface DocCommand extends ReadmeCommand {
  file: string;
}

const commands: DocCommand[] = docPages().flatMap((file) =>
  readmeCommands(fs.readFileSync(path.join(root, file), 'utf8')).map((c) => ({ ...c, file })),
);

interface Skip {
  why: string;
  matches(c: DocCommand): boolean;
}

/** The commands not run here, and why. */
const SKIPS: readonly Skip[] = [
  { why: 'download fetches from the Hugging Face Hub (network); test/models/download-*.test.ts run it against a local Hub stand-in', matches: (c) => c.args[0] === 'download' },
  { why: 'bench measures for minutes to hours; test/bench/commands.test.ts runs each benchmark at a small size', matches: (c) => c.args[0] === 'bench' },
  { why: 'serve runs until it is stopped; test/server/*.test.ts start it, talk to it and stop it', matches: (c) => c.args[0] === 'serve' },
  { why: 'export-fused writes a model copy outside the repository; test/engine/runtime/fused.test.ts exports and loads one', matches: (c) => c.args[0] === 'export-fused' },
  { why: 'names a Qwen2.5-Coder model, which is downloaded from the Hub (network)', matches: (c) => c.args.some((a) => /^qwen2\.5-coder/.test(a)) },
];

/** The one change made to a command before it runs. */
function shrink(args: string[]): string[] {
  if (args[0] !== 'verify') return args;
  const i = args.indexOf('--cases');
  return i < 0 ? [...args, '--cases', '1'] : [...args.slice(0, i + 1), '1', ...args.slice(i + 2)];
}

const skipOf = (c: DocCommand): Skip | undefined => SKIPS.find((s) => s.matches(c));
const runnable = commands.filter((c) => skipOf(c) === undefined);

describe('documentation commands', () => {
  before(() => {
    // As `npm ci` (its prepare script) builds the CLI; the test must see this tree's code, not an older bundle.
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  });

  test('the extractor finds the commands, and every skip rule is still needed', () => {
    assert.ok(runnable.length >= 8, `only ${runnable.length} runnable commands found`);
    assert.ok(runnable.some((c) => c.file === 'README.md'), 'no runnable command in README.md');
    for (const want of [['complete', 'examples/demo.js:19:21'], ['complete', '--prefix-file'], ['verify']]) {
      assert.ok(runnable.some((c) => want.every((w) => c.args.includes(w))), `no runnable documented command with ${want.join(' ')}`);
    }
    for (const s of SKIPS) assert.ok(commands.some((c) => skipOf(c) === s), `skip rule matches nothing now: ${s.why}`);
  });

  for (const c of runnable) {
    test(`${c.file}:${c.line}: lockstep ${c.args.join(' ').replace(/\n/g, '\\n').slice(0, 90)}`, () => {
      assert.equal(c.unliteral, undefined, `${c.file}:${c.line} cannot run as written (${c.unliteral}): make it runnable or add a skip rule`);
      const r = spawnSync(process.execPath, [path.join(root, 'bin', 'lockstep.js'), ...shrink(c.args)], {
        cwd: root, encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'],
      });
      assert.equal(r.status, 0, `${c.file}:${c.line} exited ${r.status ?? r.signal}:\n${c.source}\n${r.stderr}`);
    });
  }
});

describe('shell words as bash splits them', () => {
  test('quotes, $\'…\' escapes, continuations, comments; what is not literal is flagged', () => {
    assert.deepEqual(shellWords(`a 'b c' "d\\"e" $'f\\ng\\x41' h\\ i \\\n j # k`).words, ['a', 'b c', 'd"e', 'f\ngA', 'h i', 'j']);
    assert.deepEqual(shellWords(`--prefix 'a\\nb'`).words, ['--prefix', 'a\\nb'], "'…' keeps a backslash-n as two characters");
    assert.match(shellWords('x $S/target').unliteral ?? '', /\$S/);
    assert.match(shellWords('x <stand-in>/target').unliteral ?? '', /placeholder/);
    assert.match(shellWords('x | y').unliteral ?? '', /\|/);
    assert.equal(shellWords(`x 'a|b' "c;d"`).unliteral, undefined);
  });

  test('commands are found only in code blocks, continuations joined, npm run lockstep -- unwrapped', () => {
    const md = ['npx lockstep verify', '```sh', 'npx lockstep complete --prefix \\', "  'x'   # note", 'echo no', '```', '~~~', 'npm run lockstep -- verify --cases 2', '~~~'].join('\n');
    const got = readmeCommands(md).map((c) => [c.line, c.args]);
    assert.deepEqual(got, [[3, ['complete', '--prefix', 'x']], [8, ['verify', '--cases', '2']]]);
  });
});
