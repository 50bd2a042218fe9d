/** Deterministic completion prompts cut from the held-out fixture files (cursor at a seeded position). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface PromptCase {
  file: string;
  before: string;
  after: string;
}

export const FIXTURE_DIR = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'heldout');

/** A small seeded generator for choosing cursor positions (not the engine's randomness). */
function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * `count` prompts: the cursor goes at the end of a non-blank line or mid-line, in the second half of the file or
 * after its first 300 characters, so the prompt has context.
 */
export function heldOutPrompts(count: number, seed = 1): PromptCase[] {
  const files = fs.readdirSync(FIXTURE_DIR).filter((f) => /\.(js|ts)\.txt$/.test(f)).sort();
  const rand = lcg(seed);
  const out: PromptCase[] = [];
  for (let i = 0; out.length < count; i++) {
    const file = files[i % files.length];
    const text = fs.readFileSync(path.join(FIXTURE_DIR, file), 'utf8');
    const lineStarts: number[] = [];
    for (let p = 0; p < text.length; p = text.indexOf('\n', p) + 1 || text.length) lineStarts.push(p);
    const candidates = lineStarts.filter((p) => p > Math.min(300, text.length / 3) && text.slice(p, text.indexOf('\n', p)).trim().length > 3);
    if (candidates.length === 0) continue;
    const start = candidates[Math.floor(rand() * candidates.length)];
    const end = text.indexOf('\n', start) < 0 ? text.length : text.indexOf('\n', start);
    // half of the cursors at the end of the line, half inside it
    const col = rand() < 0.5 ? end : start + Math.floor((end - start) * (0.3 + 0.5 * rand()));
    out.push({ file, before: text.slice(0, col), after: text.slice(col) });
  }
  return out;
}
