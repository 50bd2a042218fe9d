// Bundles the CLI, the engine process, the VS Code extension and the benchmarks into dist/. onnxruntime-node stays external:
// it carries native binaries and ships in node_modules (inside the .vsix too: see scripts/package-vsix.mjs). `vscode`
// is provided by the editor. The extension (dist/extension.js) forks dist/engineProcess.js, next to it, for inference.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const options = {
  entryPoints: {
    cli: 'src/cli/index.ts',
    engineProcess: 'src/engine/process/engineProcess.ts',
    // The fused-copy export runs in a worker thread (src/engine/runtime/fusedModel.ts runFusedJob), loaded from next to the bundle.
    fusedWorker: 'src/engine/runtime/fusedWorker.ts',
    demo: 'src/cli/demo.ts',
    extension: 'src/vscode/extension.ts',
    // The benchmarks are a bundle of their own: bin/lockstep.js starts dist/bench.js for `lockstep bench …` and
    // `lockstep help bench`, dist/cli.js for the rest (src/ never loads bench/).
    bench: 'bench/index.ts',
    // Benchmarks that run parts in processes of their own find these next to bench.js.
    realsizeChild: 'bench/realsize/realsizeChild.ts',
    variantMemoryChild: 'bench/runtime/variantMemoryChild.ts',
  },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['onnxruntime-node', 'vscode', 'node-llama-cpp'],
  logLevel: 'warning',
};
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
