/**
 * Running the CLI in-process for tests: main() with captured output (stdin gives a short prefix, the package folder is
 * the working directory), the check that a failure is one line, two prompt halves, and a position in a fixture file.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { benchMain, isBenchArgv } from '../../bench/main';
import { main } from '../../src/cli/main';
import { packageRoot } from '../../src/models/catalog';

const root = packageRoot();
/** The first fixture file (sorted by name). */
export const fixture = path.join(root, 'test', 'fixtures', fs.readdirSync(path.join(root, 'test', 'fixtures')).sort()[0]);
/** A code line inside a block of the first fixture: its 1-based line and the column after its indentation. */
const fixtureLine = (() => {
  const lines = fs.readFileSync(fixture, 'utf8').split('\n');
  const i = lines.findIndex((l, k) => k > 10 && /^[ \t]+[A-Za-z_$]/.test(l));
  return { line: i + 1, col: /^[ \t]*/.exec(lines[i])![0].length + 1 };
})();
/** That line and column in the fixture, as "<file>:<line>:<col>". */
export const fixturePos = `${fixture}:${fixtureLine.line}:${fixtureLine.col}`;

/** What a CLI run gave: its exit code and everything it wrote. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `lockstep <argv>` in-process: bench's commands through bench's entry, as bin/lockstep.js routes them. */
export async function run(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await (isBenchArgv(argv) ? benchMain : main)(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    readStdin: async () => 'function square(x) {\n  return ',
    cwd: root,
  });
  return { code, stdout, stderr };
}

/** A failure: non-zero exit, exactly one line on stderr, "lockstep: …", no stack trace. */
export function assertOneLineError(r: Run, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure, got exit 0 with ${r.stdout}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `expected one stderr line, got:\n${r.stderr}`);
  assert.match(lines[0], /^lockstep: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'stack trace printed without --debug');
  assert.match(lines[0], pattern);
}

/** The two halves of a small prompt, before and after the cursor. */
export const PREFIX = 'function sum(values) {\n  let total = 0;\n  for (const v of values) {\n    total += ';
export const SUFFIX = '\n  }\n  return total;\n}\n';
