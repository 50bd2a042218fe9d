/**
 * `node out/tools/standin/agreement.js DIR [--variant V] [--tokens N]`: how often the stand-in's early-exit drafter
 * (DIR/drafter) agrees with its target (DIR/target). For a few code prompts the target continues greedily for N
 * tokens; at every position of prompt and continuation both models' argmax are compared, and the target's entropy
 * at T = 1 is averaged. With random weights this is a property of the generator's scales, not of any real model.
 */
import { CausalLM } from '../../src/engine/runtime/model';
import { TokenizerWrapper } from '../../src/engine/prompt/tokenizer';
import * as path from 'node:path';
import { argmax, entropy } from './rowStats';

const PROMPTS = [
  'function add(a, b) {\n  return a + b;\n}\n',
  'import os\n\ndef read_lines(path):\n    with open(path) as f:\n        return f.read().splitlines()\n',
  'for (let i = 0; i < items.length; i++) {\n  total += items[i].price;\n}\n',
  '#include <stdio.h>\nint main(void) {\n  printf("hello\\n");\n  return 0;\n}\n',
];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dir = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!dir) throw new Error('usage: agreement.js DIR [--variant V] [--tokens N]');
  const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
  const variant = opt('--variant', 'fp32');
  const steps = Number(opt('--tokens', '16'));
  const tok = TokenizerWrapper.fromDir(path.join(dir, 'target'));
  let agree = 0, total = 0, entropySum = 0;
  for (const prompt of PROMPTS) {
    const target = await CausalLM.load(path.join(dir, 'target'), { variant, threads: 1 });
    const drafter = await CausalLM.load(path.join(dir, 'drafter'), { variant, threads: 1 });
    const ids = tok.encodePlain(prompt);
    const picks: number[] = [];
    let rows = await target.forward(ids);
    for (let i = 0; i < rows.count; i++) {
      picks.push(argmax(rows.row(i)));
      entropySum += entropy(rows.row(i));
    }
    const seq = [...ids];
    for (let s = 0; s < steps; s++) {
      const next = picks[picks.length - 1];
      seq.push(next);
      rows = await target.forward([next]);
      picks.push(argmax(rows.row(0)));
      entropySum += entropy(rows.row(0));
    }
    const d = await drafter.forward(seq);
    for (let i = 0; i < d.count; i++) {
      total++;
      if (argmax(d.row(i)) === picks[i]) agree++;
    }
    await target.dispose();
    await drafter.dispose();
  }
  process.stdout.write(`${variant}: greedy top-1 agreement ${(100 * agree / total).toFixed(1)}% (${agree}/${total} positions), ` +
    `target entropy at T = 1: ${(entropySum / total).toFixed(2)} nats (uniform: ${Math.log(151936).toFixed(2)})\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`agreement: ${e.message}\n`);
  process.exit(1);
});
