/**
 * What the engine's accuracy_level-4 copy of a q4 file (src/engine/runtime/fastQ4.ts) costs and gains:
 *   node out/bench/fast-q4.js patch FILE.onnx CACHE_DIR      time and peak RSS of making the copy (run it in its own process)
 *   node out/bench/fast-q4.js calls TARGET_DIR [AL4_DIR] [PAST] [REPEATS]
 *       target call times of the file as it is and of the copy, alternating in one process (same machine load), and
 *       whether the copy's logits are bitwise those of a file written with accuracy_level 4 (AL4_DIR, same weights).
 * Uses $LOCKSTEP_CACHE_DIR like the engine. One intra-op thread.
 */
import { CausalLM } from '../src/engine/runtime/model';
import { fastQ4File } from '../src/engine/runtime/fastQ4';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function ids(n: number): number[] {
  let s = 1;
  return Array.from({ length: n }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), 1000 + (s % 100000)));
}

async function patch(file: string, cacheDir: string): Promise<void> {
  const t0 = performance.now();
  const r = fastQ4File(file, cacheDir);
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ file, patchMs: Math.round(ms), patchedNodes: r.patchedNodes, copy: r.file, note: r.note, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

async function calls(target: string, al4: string | undefined, past: number, repeats: number): Promise<void> {
  const off = await CausalLM.load(target, { variant: 'q4', threads: 1, fastQuantizedKernels: false });
  const on = await CausalLM.load(target, { variant: 'q4', threads: 1 });
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
  console.log(JSON.stringify({
    target, past, repeats, asIsCallMs: median(times.off), patchedCallMs: median(times.on), speedup: median(times.off) / median(times.on),
    patchedNote: on.loadNote, lastFourPrefillRowsBitwiseEqualToAl4File: sameAsAl4,
  }));
  await Promise.all([off.dispose(), on.dispose()]);
}

async function main(argv: string[]): Promise<void> {
  const [mode, a, b, c, d] = argv;
  if (mode === 'patch' && a && b) return patch(a, b);
  if (mode === 'calls' && a) return calls(a, b || undefined, Number(c ?? 128), Number(d ?? 6));
  throw new Error('usage: fast-q4.js patch FILE.onnx CACHE_DIR | calls TARGET_DIR [AL4_DIR] [PAST] [REPEATS]');
}

main(process.argv.slice(2)).catch((e: Error) => {
  console.error(`fast-q4: ${e.message}`);
  process.exit(1);
});
