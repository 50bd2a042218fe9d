// Bundles the CLI, the engine process and the VS Code extension into dist/. onnxruntime-node stays external:
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
    // `lockstep bench realsize` runs each variant in its own process: bench/realsize/realsizeChild.ts, next to cli.js.
    realsizeChild: 'bench/realsize/realsizeChild.ts',
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
