/** The soak benchmark's typist: which held-out text is retyped, and the (seeded) pauses between keystrokes. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixtureDir, mulberry32 } from '../../src/cli/prompts';
import { Position } from '../../test/vscode/fakeVscode';

const CODE_FILE = /\.(js|ts)\.txt$/;

export interface TypingText {
  label: string;
  languageId: string;
  /** The document before the first keystroke, and the cursor. */
  initial: string;
  start: Position;
  /** What is typed, one character per keystroke. */
  typed: string;
}

/**
 * `count` characters of a held-out source file to retype: the largest one (core-mergeConfig.js, 7 871 characters),
 * from the start of the line at a quarter of the file, so that every run types a prefix of the same text and the
 * document holds the rest of the file (a suffix for fill-in-the-middle). Longer than the file (less 200 characters):
 * the held-out files concatenated.
 */
export function typingText(count: number): TypingText {
  const dir = path.join(fixtureDir(), 'heldout');
  const files = fs.readdirSync(dir).filter((f) => CODE_FILE.test(f)).sort();
  const texts = files.map((f) => ({ f, text: fs.readFileSync(path.join(dir, f), 'utf8').replace(/\r\n/g, '\n') }));
  const margin = 200;
  const largest = [...texts].sort((a, b) => b.text.length - a.text.length || a.f.localeCompare(b.f))[0];
  let label: string;
  let text: string;
  if (largest && largest.text.length >= count + margin) {
    label = largest.f;
    text = largest.text;
  } else {
    label = 'heldout/*';
    text = texts.map((x) => x.text).join('\n');
    while (text.length < count + 2 * margin) text += `\n${text}`;
  }
  let from = text.lastIndexOf('\n', Math.floor(text.length / 4)) + 1;
  if (from + count > text.length - margin) from = Math.max(0, text.length - margin - count);
  const before = text.slice(0, from);
  const lines = before.split('\n');
  const start = new Position(lines.length - 1, lines[lines.length - 1].length);
  const languageId = label.endsWith('.ts.txt') ? 'typescript' : 'javascript';
  return {
    label: `${label}:${from}-${from + count}`, languageId, initial: before + text.slice(from + count), start,
    typed: text.slice(from, from + count),
  };
}

/** Milliseconds before each keystroke: uniform jitter around the mean (seeded), plus a pause after each newline. */
export function keystrokeDelays(typed: string, o: { intervalMs: number; jitterMs: number; linePauseMs: number; seed: number }): number[] {
  const rand = mulberry32(o.seed);
  const jitter = Math.min(o.jitterMs, o.intervalMs);
  return [...typed].map((_, i) => {
    const d = o.intervalMs - jitter + 2 * jitter * rand();
    return i > 0 && typed[i - 1] === '\n' ? d + o.linePauseMs : d;
  });
}
