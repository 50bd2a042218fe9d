/**
 * `npm run demo`: one completion in examples/demo.js with the shipped models, then a drafter-invariance check on
 * the same prompt (a few seeds, every shipped drafter, both invariant couplings).
 *
 * The cursor convention needs no marker in the file: it goes right after the first occurrence of CURSOR_AFTER
 * (an unfinished line, as if the user had just typed it).
 *
 * The shipped target is a 7M-parameter demo model: the heading says so and the last line is its notice (how to get a
 * real model), so that nobody takes the demo's text for what Lockstep writes with a real model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findEntry, loadCatalogOrBundled, packageRoot } from '../models/catalog';
import { demoLabel, isDemoModel } from '../models/modelNotices';
import { main } from './main';
import { splitAtCursor } from './prompts';
import { formatVerify } from './verifyCommand';
import { runVerify } from './verifyGrid';

export const DEMO_FILE = path.join('examples', 'demo.js');
export const CURSOR_AFTER = 'groups.get(key).';

/** 1-based line and column just after CURSOR_AFTER. */
export function demoCursor(text: string): { line: number; col: number } {
  const at = text.indexOf(CURSOR_AFTER);
  if (at < 0) throw new Error(`${DEMO_FILE} does not contain "${CURSOR_AFTER}"`);
  const end = at + CURSOR_AFTER.length;
  const before = text.slice(0, end);
  const line = before.split('\n').length;
  const col = Array.from(before.slice(before.lastIndexOf('\n') + 1)).length + 1;
  return { line, col };
}

export const DEMO_TARGET = 'lockstep-target';

/** Runs the demo, writing its report with `write`; resolves to the exit code. */
export async function demo(write: (text: string) => void = (t) => void process.stdout.write(t)): Promise<number> {
  const root = packageRoot();
  const file = path.join(root, DEMO_FILE);
  const text = fs.readFileSync(file, 'utf8');
  const { line, col } = demoCursor(text);
  const position = `${DEMO_FILE}:${line}:${col}`;
  const t0 = performance.now();

  const entry = findEntry(loadCatalogOrBundled(), DEMO_TARGET);
  const label = isDemoModel(entry) ? ` — a ${demoLabel(entry!)}` : '';
  write(`Lockstep demo: completing ${position} (target ${DEMO_TARGET}${label}; its recommended drafter)\n\n`);
  let json = '';
  let errors = '';
  const code = await main(['complete', position, '--json', '--max-tokens', '48'], {
    stdout: (s) => void (json += s),
    stderr: (s) => void (errors += s),
    cwd: root,
  });
  if (code !== 0) {
    process.stderr.write(errors);
    return code;
  }
  const r = JSON.parse(json) as {
    text: string; tokens: number; tokensPerSecond: number; acceptance: number; accepted: number; drafted: number;
    targetCalls: number; drafter: string; seed: number; stopReason: string; notice?: string;
  };
  const prompt = splitAtCursor(text, line, col, position);
  const lineStart = prompt.before.lastIndexOf('\n') + 1;
  const context = prompt.before.slice(prompt.before.lastIndexOf('\n', lineStart - 2) + 1);
  const [on, off] = process.stdout.isTTY ? ['\x1b[32m', '\x1b[0m'] : ['', ''];
  write(`${context}${on}${r.text}${off}${prompt.after.split('\n')[0]}\n`);
  write(`\ncompletion: ${JSON.stringify(r.text)}\n`);
  write(
    `${r.tokens} tokens at ${r.tokensPerSecond.toFixed(1)} tokens/s; drafter ${r.drafter} accepted ` +
      `${(100 * r.acceptance).toFixed(0)}% of its drafts (${r.accepted}/${r.drafted}); ${r.targetCalls} target calls; ` +
      `seed ${r.seed}; stopped by ${r.stopReason}\n\n`,
  );

  write('Drafter invariance: the same prompt through every shipped drafter, prompt lookup and γ ∈ {1, 4},\n' +
    'with the gumbel and wmh couplings, must give the bytes of plain autoregressive decoding.\n\n');
  const report = await runVerify(
    { cases: 3, gammas: [1, 4], temperatures: [0, 0.8], couplings: ['gumbel', 'wmh'], maxTokens: 24, mode: 'block', prompts: [prompt] },
    root,
  );
  write(formatVerify(report));
  write(`\ndemo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  if (r.notice !== undefined) write(`\nNote: ${r.notice}\n`);
  return report.mismatches.length === 0 ? 0 : 1;
}

if (require.main === module) {
  demo().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`lockstep demo: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
