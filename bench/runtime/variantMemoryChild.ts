/**
 * One session configuration of `lockstep bench variant-memory`, in its own process so that its RSS is its own:
 * `node variantMemoryChild.js MODEL_DIR VARIANT REPEATS CONFIG` prints one MemoryRow as JSON on stdout.
 */
import { measureConfig } from './variantMemory';

if (require.main === module) {
  const [dir, variant, repeats, name] = process.argv.slice(2);
  measureConfig(dir, variant, name, Number(repeats)).then(
    (row) => process.stdout.write(`${JSON.stringify(row)}\n`),
    (e: Error) => {
      // One line: the parent shows the last line of stderr in its table.
      process.stderr.write(`${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
      process.exit(1);
    },
  );
}
