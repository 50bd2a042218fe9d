/**
 * Prompts: the text before and after a cursor, from a file position (`file:line:col`) or from the held-out fixtures
 * (seeded, reproducible choices that `lockstep verify` and the benchmarks use).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../models/catalog';
import { UsageError } from './args';
import { CliError } from './io';
import { readTextFile } from './textInput';

// ---------------------------------------------------------------- cursor positions

export interface PromptText {
  /** Where it came from (file:line:col, stdin, --prefix …). */
  label: string;
  before: string;
  after: string;
}

/**
 * Splits `text` at a 1-based line and column (column in characters; line length + 1 = end of line). A cursor outside
 * the text is a usage error (exit 2): the argument is wrong, not the run.
 */
export function splitAtCursor(text: string, line: number, col: number, label: string): PromptText {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const lines = starts.length;
  if (!Number.isSafeInteger(line) || line < 1 || line > lines) {
    throw new UsageError(`${label}: line ${line} is out of range (the file has ${lines} line${lines === 1 ? '' : 's'})`);
  }
  const start = starts[line - 1];
  let end = line < lines ? starts[line] - 1 : text.length;
  if (end > start && text[end - 1] === '\r') end--;
  const chars = Array.from(text.slice(start, end));
  if (!Number.isSafeInteger(col) || col < 1 || col > chars.length + 1) {
    throw new UsageError(`${label}: column ${col} is out of range (line ${line} has ${chars.length} character${chars.length === 1 ? '' : 's'}; use 1..${chars.length + 1})`);
  }
  const offset = start + chars.slice(0, col - 1).join('').length;
  return { label, before: text.slice(0, offset), after: text.slice(offset) };
}

/** "path:line:col" → parts (the path may itself contain ':', e.g. C:\x.js:3:4). */
export function parsePosition(spec: string): { file: string; line: number; col: number } | undefined {
  const m = /^(.*):(\d+):(\d+)$/.exec(spec);
  if (!m || m[1] === '') return undefined;
  return { file: m[1], line: Number(m[2]), col: Number(m[3]) };
}

/** A text file relative to cwd, strictly UTF-8 (textInput.ts). */
export function readText(file: string, cwd: string): string {
  return readTextFile(file, cwd);
}

/** The prompt at `file:line:col` (a path relative to cwd). */
export function promptAtPosition(spec: string, cwd: string): PromptText {
  const pos = parsePosition(spec);
  if (!pos) throw new UsageError(`expected <file>:<line>:<col> (1-based), got '${spec}'`);
  return splitAtCursor(readText(pos.file, cwd), pos.line, pos.col, spec);
}

// ---------------------------------------------------------------- fixture prompts

/** A small seeded generator (mulberry32) for choosing fixture positions reproducibly (also the benchmarks' and tests' inputs). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function fixtureDir(): string {
  return path.join(packageRoot(), 'test', 'fixtures');
}

const COMMENT_START = /^(\/\/|\/\*|\*|#|<!--|--|"""|''')/;

/**
 * Deterministic prompts from the held-out fixtures: a seeded choice of code lines inside a block (indented,
 * not comments, not bare brackets); the cursor sits after the line's indentation and the rest of that line is
 * removed, so the model has to write the line (the text after the cursor starts at the line's end).
 */
export function fixturePrompts(count: number, seed = 1, dir = fixtureDir()): PromptText[] {
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
  } catch {
    throw new CliError(`no fixture prompts: cannot read ${dir} (give positions with --file <file>:<line>:<col>)`);
  }
  const candidates: PromptText[] = [];
  for (const f of files) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8').replace(/\r\n/g, '\n');
    const lines = text.split('\n');
    let offset = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const indent = /^[ \t]*/.exec(line)![0];
      const body = line.slice(indent.length);
      if (i >= 4 && indent.length > 0 && body.length >= 8 && !COMMENT_START.test(body) && /[A-Za-z_$]/.test(body)) {
        candidates.push({
          label: `${f}:${i + 1}:${indent.length + 1}`,
          before: text.slice(0, offset + indent.length),
          after: text.slice(offset + line.length),
        });
      }
      offset += line.length + 1;
    }
  }
  if (candidates.length === 0) throw new CliError(`no usable fixture prompts in ${dir}`);
  const rand = mulberry32(seed);
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
  }
  return Array.from({ length: count }, (_, i) => candidates[i % candidates.length]);
}
