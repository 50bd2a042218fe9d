/**
 * `lockstep bench fast-q4`: what the engine's accuracy_level-4 copy of a q4 file (src/engine/runtime/fastQ4.ts) costs
 * and gains:
 *   lockstep bench fast-q4 patch FILE.onnx CACHE_DIR   time and peak RSS of making the copy (this process makes only it)
 *   lockstep bench fast-q4 calls TARGET_DIR [AL4_DIR] [PAST] [REPEATS]
 *       target call times of the file as it is and of the copy, alternating in one process (same machine load), and
 *       whether the copy's logits are bitwise those of a file written with accuracy_level 4 (AL4_DIR, same weights).
 * Uses $LOCKSTEP_CACHE_DIR like the engine. One intra-op thread. Each prints one JSON object.
 */
import * as path from 'node:path';
import * as A from '../../src/cli/args';
import { CausalLM } from '../../src/engine/runtime/model';
import { fastQ4File } from '../../src/engine/runtime/fastQ4';
import type { BenchIo, MeasureCommand } from '../common';

/** The upper middle sample for an even count (the rule the published figures used; bench/common's median interpolates). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function ids(n: number): number[] {
  let s = 1;
  return Array.from({ length: n }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), 1000 + (s % 100000)));
}

function patch(file: string, cacheDir: string, io: BenchIo): void {
  const t0 = performance.now();
  const r = fastQ4File(file, cacheDir);
  const ms = performance.now() - t0;
  io.stdout(`${JSON.stringify({ file, patchMs: Math.round(ms), patchedNodes: r.patchedNodes, copy: r.file, note: r.note, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

async function calls(target: string, al4: string | undefined, past: number, repeats: number, io: BenchIo): Promise<void> {
  const off = await CausalLM.load(target, { variant: 'q4', threads: 1, fastQuantizedKernels: false });
  const on = await CausalLM.load(target, { variant: 'q4', threads: 1 });
  try {
    const prompt = ids(past);
    await off.prefill(prompt);
    const onRows = await on.forward(prompt);
    const reference = Array.from({ length: 4 }, (_, i) => onRows.row(past - 4 + i).slice());
    const times = { off: [] as number[], on: [] as number[] };
    for (let r = 0; r < repeats; r++) {
      for (const [name, m] of [['off', off], ['on', on]] as const) {
        const t = performance.now();
        await m.forward([17, 42 + r]);
        times[name].push(performance.now() - t);
        await m.truncate(past);
      }
    }
    let sameAsAl4: boolean | null = null;
    if (al4) {
      const written = await CausalLM.load(al4, { variant: 'q4', threads: 1, fastQuantizedKernels: false });
      const rows = await written.forward(prompt);
      sameAsAl4 = reference.every((ref, i) => Buffer.from(rows.row(past - 4 + i).buffer, rows.row(past - 4 + i).byteOffset, ref.byteLength).equals(Buffer.from(ref.buffer)));
      await written.dispose();
    }
    io.stdout(`${JSON.stringify({
      target, past, repeats, asIsCallMs: median(times.off), patchedCallMs: median(times.on), speedup: median(times.off) / median(times.on),
      patchedNote: on.loadNote, lastFourPrefillRowsBitwiseEqualToAl4File: sameAsAl4,
    })}\n`);
  } finally {
    await Promise.all([off.dispose(), on.dispose()]);
  }
}

const options = {};

export const fastQ4: MeasureCommand<typeof options> = {
  usage: 'patch FILE.onnx CACHE_DIR | calls TARGET_DIR [AL4_DIR] [PAST] [REPEATS]',
  about: 'The engine\'s accuracy_level-4 copy of a q4 file: `patch` times making it (and its peak RSS); `calls` times the\n' +
    'target\'s 2-token calls at PAST (default 128) tokens on the file and on the copy, alternating, REPEATS (default 6)\n' +
    'each, and checks the copy\'s logits against AL4_DIR\'s file written with accuracy_level 4 (same weights).',
  options,
  async run(_o, positionals, io) {
    const [mode, a, b, c, d, extra] = positionals;
    const at = (p: string) => path.resolve(io.cwd, p);
    if (mode === 'patch' && a && b && c === undefined) return patch(at(a), at(b), io);
    if (mode === 'calls' && a && extra === undefined) {
      const past = c === undefined ? 128 : A.positiveInt(c, 'PAST');
      const repeats = d === undefined ? 6 : A.positiveInt(d, 'REPEATS');
      // Past is at least 4: the check reads the last four prefill rows.
      if (past < 4) throw new A.UsageError(`bench fast-q4 calls: PAST must be at least 4 (got ${past})`);
      return calls(at(a), b ? at(b) : undefined, past, repeats, io);
    }
    throw new A.UsageError(`usage: lockstep bench fast-q4 ${fastQ4.usage}`);
  },
};
