#!/usr/bin/env node
/**
 * `npm run package [-- --target <t>[,<t>…] | all | universal] [--out-dir DIR] [--stage-dir DIR]`: builds Lockstep's
 * .vsix with @vscode/vsce, one per VS Code target platform (default: this machine's, e.g. linux-x64), into --out-dir
 * (default: the repository root), staging each in --stage-dir/<target> (default: out/vsix/<target>).
 *
 * Why a staging directory instead of `vsce package` at the repository root:
 *  - package.json's "files" list is the npm package's (the CLI), and vsce refuses a "files" list together with a
 *    .vscodeignore;
 *  - onnxruntime-node must ship inside the extension, but its npm package carries native binaries for every
 *    platform (~290 MB); a platform-specific .vsix holds only its own (linux-x64 ≈ 45 MB unpacked), and VS Code's
 *    marketplace serves each user the matching one. `--target universal` keeps them all (one big package);
 *  - only what the extension runs is copied: dist/extension.js, dist/engineProcess.js and dist/fusedWorker.js (esbuild
 *    bundles; everything but onnxruntime-node is inside them), models/ and models.json, media/icon.png and the
 *    walkthrough's pages, LICENSE (required), CHANGELOG when present, and node_modules/onnxruntime-node (+
 *    onnxruntime-common) without their install scripts and sources;
 *  - the .vsix's README.md (its Marketplace page and the Extensions view's details) is docs/extension-README.md, the
 *    short user-facing one (install, first run, keys, settings, privacy), not the repository's research README.
 * The repository's .vscodeignore is applied inside the stage too (plus the other platforms' binaries), so the
 * exclusions live in one place. Run `node esbuild.mjs` first (the npm script does).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The .vsix's README.md: short and for users (the repository's README.md is the project's full documentation). */
const EXTENSION_README = 'docs/extension-README.md';
/** VS Code targets → onnxruntime-node's bin/napi-v6/<os>/<arch> folder (the platforms onnxruntime-node ships). */
const TARGETS = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
};

function usage(message) {
  if (message) console.error(`package-vsix: ${message}`);
  console.error(`usage: node scripts/package-vsix.mjs [--target <${Object.keys(TARGETS).join('|')}|all|universal>[,…]] [--out-dir DIR] [--stage-dir DIR]`);
  process.exit(2);
}

function parseArgs(argv) {
  let targets = [`${process.platform}-${process.arch}`];
  let outDir = ROOT;
  let stageDir = path.join(ROOT, 'out', 'vsix');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--target' || a === '-t') {
      const v = argv[++i];
      if (!v) usage('--target needs a value');
      targets = v === 'all' ? Object.keys(TARGETS) : v.split(',').map((s) => s.trim()).filter(Boolean);
    } else if (a === '--out-dir') {
      outDir = path.resolve(argv[++i] ?? usage('--out-dir needs a value'));
    } else if (a === '--stage-dir') {
      stageDir = path.resolve(argv[++i] ?? usage('--stage-dir needs a value'));
    } else if (a === '--help' || a === '-h') {
      usage();
    } else {
      usage(`unknown argument ${a}`);
    }
  }
  for (const t of targets) if (t !== 'universal' && !(t in TARGETS)) usage(`no onnxruntime-node binaries for target "${t}"`);
  return { targets, outDir, stageDir };
}

function copy(rel, stage, filter = () => true) {
  const from = path.join(ROOT, rel);
  if (!fs.existsSync(from)) return false;
  fs.cpSync(from, path.join(stage, rel), {
    recursive: true,
    dereference: true,
    filter: (src) => filter(path.relative(ROOT, src).split(path.sep).join('/')),
  });
  return true;
}

function readJson(p) {
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

function writeJson(p, v) {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, `${JSON.stringify(v, null, 2)}\n`);
}

/** Every file a walkthrough step shows (markdown, image, svg; an image may be {light, dark, hc}). */
function walkthroughMedia(pkg) {
  const files = new Set();
  for (const w of pkg.contributes?.walkthroughs ?? []) {
    for (const step of w.steps ?? []) {
      for (const v of Object.values(step.media ?? {})) {
        for (const f of typeof v === 'string' ? [v] : Object.values(v ?? {})) {
          if (typeof f === 'string' && !/^[a-z]+:/i.test(f)) files.add(path.posix.normalize(f));
        }
      }
    }
  }
  return [...files];
}

function stageTarget(target, stageDir) {
  const stage = path.join(stageDir, target);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });

  // The extension manifest: the repository's package.json without the npm/CLI and development fields.
  const pkg = readJson(path.join(ROOT, 'package.json'));
  for (const k of ['files', 'bin', 'scripts', 'devDependencies', 'allowScripts']) delete pkg[k];
  const ortVersion = pkg.dependencies?.['onnxruntime-node'];
  pkg.dependencies = { 'onnxruntime-node': ortVersion };
  writeJson(path.join(stage, 'package.json'), pkg);

  // fusedWorker.js: the worker thread in which the engine process makes a model's fused-operator copy.
  for (const f of ['dist/extension.js', 'dist/engineProcess.js', 'dist/fusedWorker.js']) {
    if (!copy(f, stage)) throw new Error(`${f} is missing: run \`node esbuild.mjs\` first`);
  }
  copy('models', stage, (rel) => !/\/reference\.json$/.test(rel));
  for (const f of ['models.json', 'models.schema.json', 'media/icon.png', 'CHANGELOG.md']) copy(f, stage);
  if (!fs.existsSync(path.join(ROOT, EXTENSION_README))) throw new Error(`${EXTENSION_README} is missing (the .vsix's README)`);
  fs.copyFileSync(path.join(ROOT, EXTENSION_README), path.join(stage, 'README.md'));
  if (!copy('LICENSE', stage)) throw new Error('LICENSE is missing: the .vsix must carry the license');
  // The walkthrough's pages (contributes.walkthroughs[].steps[].media), each folder whole (a page may link images
  // next to it); a page the manifest names but the stage lacks fails the build rather than a blank step.
  for (const rel of walkthroughMedia(pkg)) {
    copy(path.posix.dirname(rel), stage);
    if (!fs.existsSync(path.join(stage, rel))) throw new Error(`the walkthrough's ${rel} is missing`);
  }

  // onnxruntime-node: its JavaScript, its package.json without the install script (which downloads CUDA on
  // Linux x64 and is not run inside VS Code) and install-only dependencies, and the binaries for `target`.
  const ortBin = target === 'universal' ? undefined : TARGETS[target];
  copy('node_modules/onnxruntime-node', stage, (rel) => {
    const sub = rel.slice('node_modules/onnxruntime-node'.length);
    if (sub === '' || sub === '/package.json' || sub === '/LICENSE' || sub === '/README.md') return true;
    if (sub === '/dist' || (sub.startsWith('/dist/') && sub.endsWith('.js'))) return true;
    if (sub === '/bin' || sub === '/bin/napi-v6') return true;
    const m = /^\/bin\/napi-v6\/([^/]+)(?:\/([^/]+))?/.exec(sub);
    if (m) return ortBin === undefined || ortBin.startsWith(m[2] ? `${m[1]}/${m[2]}` : `${m[1]}/`);
    return false;
  });
  const ortPkgFile = path.join(stage, 'node_modules', 'onnxruntime-node', 'package.json');
  const ortPkg = readJson(ortPkgFile);
  delete ortPkg.scripts;
  delete ortPkg.devDependencies;
  ortPkg.dependencies = { 'onnxruntime-common': ortPkg.dependencies['onnxruntime-common'] };
  writeJson(ortPkgFile, ortPkg);
  copy('node_modules/onnxruntime-common', stage, (rel) => {
    const sub = rel.slice('node_modules/onnxruntime-common'.length);
    if (sub === '' || sub === '/package.json' || sub === '/LICENSE' || sub === '/README.md') return true;
    // dist/cjs/package.json says {"type": "commonjs"} (the package itself is "type": "module"): keep it.
    return sub === '/dist' || sub === '/dist/cjs' || (sub.startsWith('/dist/cjs/') && (sub.endsWith('.js') || sub.endsWith('/package.json') || !path.extname(sub)));
  });

  // .vscodeignore: the repository's, plus the other platforms' binaries (already left out of the stage).
  let ignore = fs.existsSync(path.join(ROOT, '.vscodeignore')) ? fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8') : '';
  if (ortBin !== undefined) {
    ignore += `\n# added by scripts/package-vsix.mjs for ${target}\n`;
    for (const [t, dir] of Object.entries(TARGETS)) {
      if (t !== target) ignore += `node_modules/onnxruntime-node/bin/napi-v6/${dir}/**\n`;
    }
  }
  fs.writeFileSync(path.join(stage, '.vscodeignore'), ignore);
  return { stage, pkg };
}

function main() {
  const { targets, outDir, stageDir } = parseArgs(process.argv.slice(2));
  const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  if (!fs.existsSync(vsce)) throw new Error('@vscode/vsce is not installed: run `npm ci`');
  fs.mkdirSync(outDir, { recursive: true });
  for (const target of targets) {
    const { stage, pkg } = stageTarget(target, stageDir);
    const out = path.join(outDir, `${pkg.name}-${target}-${pkg.version}.vsix`);
    const args = [vsce, 'package', '--out', out, '--allow-missing-repository', '--no-rewrite-relative-links'];
    if (target !== 'universal') args.push('--target', target);
    console.log(`package-vsix: ${target} → ${path.relative(process.cwd(), out) || out}`);
    execFileSync(process.execPath, args, { cwd: stage, stdio: 'inherit' });
    const size = fs.statSync(out).size;
    console.log(`package-vsix: ${path.basename(out)}: ${(size / 1e6).toFixed(1)} MB`);
  }
}

try {
  main();
} catch (e) {
  console.error(`package-vsix: ${e.message}`);
  process.exit(1);
}
