// Bundles the CLI and the engine's worker thread into dist/. onnxruntime-node stays external: it carries native
// binaries and ships in node_modules (and, later, inside the extension package).
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const options = {
  entryPoints: { cli: 'src/cli/index.ts', worker: 'src/engine/worker.ts', demo: 'src/cli/demo.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['onnxruntime-node', 'vscode'],
  logLevel: 'warning',
};
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
