/**
 * `npm run demo`: one completion in examples/demo.js with the shipped models, then a drafter-invariance check on
 * the same prompt (a few seeds, every shipped drafter, both invariant couplings).
 *
 * The cursor convention needs no marker in the file: it goes right after the first occurrence of CURSOR_AFTER
 * (an unfinished line, as if the user had just typed it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../models/catalog';
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

async function demo(): Promise<number> {
  const root = packageRoot();
  const file = path.join(root, DEMO_FILE);
  const text = fs.readFileSync(file, 'utf8');
  const { line, col } = demoCursor(text);
  const position = `${DEMO_FILE}:${line}:${col}`;
  const t0 = performance.now();

  process.stdout.write(`Lockstep demo: completing ${position} (target lockstep-target, its recommended drafter)\n\n`);
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
    targetCalls: number; drafter: string; seed: number; stopReason: string;
  };
  const prompt = splitAtCursor(text, line, col, position);
  const lineStart = prompt.before.lastIndexOf('\n') + 1;
  const context = prompt.before.slice(prompt.before.lastIndexOf('\n', lineStart - 2) + 1);
  const [on, off] = process.stdout.isTTY ? ['\x1b[32m', '\x1b[0m'] : ['', ''];
  process.stdout.write(`${context}${on}${r.text}${off}${prompt.after.split('\n')[0]}\n`);
  process.stdout.write(`\ncompletion: ${JSON.stringify(r.text)}\n`);
  process.stdout.write(
    `${r.tokens} tokens at ${r.tokensPerSecond.toFixed(1)} tokens/s; drafter ${r.drafter} accepted ` +
      `${(100 * r.acceptance).toFixed(0)}% of its drafts (${r.accepted}/${r.drafted}); ${r.targetCalls} target calls; ` +
      `seed ${r.seed}; stopped by ${r.stopReason}\n\n`,
  );

  process.stdout.write('Drafter invariance: the same prompt through every shipped drafter, prompt lookup and γ ∈ {1, 4},\n' +
    'with the gumbel and wmh couplings, must give the bytes of plain autoregressive decoding.\n\n');
  const report = await runVerify(
    { cases: 3, gammas: [1, 4], temperatures: [0, 0.8], couplings: ['gumbel', 'wmh'], maxTokens: 24, mode: 'block', prompts: [prompt] },
    root,
  );
  process.stdout.write(formatVerify(report));
  process.stdout.write(`\ndemo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
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
