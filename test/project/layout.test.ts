/**
 * The layout docs/architecture.md describes, read from the code's own imports: no import circle among the product's
 * and the benchmarks' modules (type-only imports count: they couple the files as much), each part imports only the
 * parts below it (dynamic require()/import() included), the engine never imports the editor, and no source file grows
 * past ~400 lines.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const MAX_LINES = 420;

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** The text of a source file without its comments (a path in a comment is not an import). */
function code(file: string): string {
  return fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** The source file a relative specifier names, or null for a package or a file outside the sources. */
function resolveSpec(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.normalize(path.join(path.dirname(file), spec));
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(path.join(ROOT, candidate))) return candidate;
  }
  return null;
}

/** Relative modules a file imports statically (import/export … from, import 'x', top-level require); not import(). */
function staticImports(file: string): string[] {
  const text = code(file);
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;'"`]*?\bfrom\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^(?:const|let|var)\s[^=]+=\s*require\(\s*['"]([^'"]+)['"]\s*\)/gm),
  ].map((m) => m[1]);
  return specs.map((s) => resolveSpec(file, s)).filter((f): f is string => f !== null);
}

/** Specifiers of require('…') and import('…') calls anywhere in a text. */
function dynamicSpecs(text: string): string[] {
  return [...text.matchAll(/\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
}

/**
 * Every relative module a file reaches: its static imports plus any require('…') or import('…') anywhere in it (a lazy
 * load is still a dependency).
 */
function allImports(file: string): string[] {
  const dynamic = dynamicSpecs(code(file)).map((s) => resolveSpec(file, s));
  return [...new Set([...staticImports(file), ...dynamic.filter((f): f is string => f !== null)])];
}

const FILES = [...sources('src'), ...sources('bench')];
const GRAPH = new Map(FILES.map((f) => [f, staticImports(f)]));
const ALL = new Map(FILES.map((f) => [f, allImports(f)]));

test('the import graph of src/ and bench/ has no circle', () => {
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (f: string, trail: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      circles.push([...trail.slice(trail.indexOf(f)), f].join(' → '));
      return;
    }
    state.set(f, 'open');
    for (const g of GRAPH.get(f) ?? []) visit(g, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of FILES) visit(f, []);
  assert.deepEqual(circles, []);
});

/**
 * The parts and the direction between them. Inside src/engine the layers stack: runtime (the ONNX model, KV cache,
 * devices, exactness) < decode (randomness, couplings, drafters, the decode loop) < prompt (tokenizer, FIM, context,
 * stops) < request (what a caller asks and gets) < process (the Engine and its process boundary); a layer imports
 * only layers below it. Around it: src/onnx is the graph toolkit the runtime uses; src/models (catalog, downloads)
 * uses the engine; the CLI, the server and the editor glue sit on top, and nothing in src/ reaches bench/ or test/.
 */
const PART_ORDER = ['src/onnx', 'src/engine/runtime', 'src/engine/decode', 'src/engine/prompt', 'src/engine/request', 'src/engine/process'];
const MAY_IMPORT: Record<string, readonly string[]> = {
  'src/onnx': [],
  'src/engine/runtime': ['src/onnx'],
  'src/engine/decode': ['src/engine/runtime'],
  'src/engine/prompt': ['src/engine/runtime', 'src/engine/decode'],
  'src/engine/request': ['src/engine/runtime', 'src/engine/decode', 'src/engine/prompt'],
  'src/engine/process': ['src/engine/runtime', 'src/engine/decode', 'src/engine/prompt', 'src/engine/request'],
  'src/models': ['src/engine/runtime', 'src/engine/decode', 'src/engine/prompt', 'src/engine/request'],
  'src/server': [...PART_ORDER, 'src/models'],
  'src/cli': [...PART_ORDER, 'src/models', 'src/server'],
  'src/vscode': [...PART_ORDER, 'src/models'],
  bench: [...PART_ORDER, 'src/models', 'src/server', 'src/cli', 'test'],
};

/** The part a file belongs to: src/engine/<layer>, src/<folder>, or bench. */
function part(file: string): string {
  const p = file.split(path.sep);
  if (p[0] === 'bench' || p[0] === 'test') return p[0];
  if (p[1] === 'engine') return p.length > 3 ? `src/engine/${p[2]}` : 'src/engine';
  return `src/${p[1]}`;
}

test('every source file belongs to a known part (a new folder gets its place in MAY_IMPORT)', () => {
  assert.deepEqual(FILES.map(part).filter((p) => !(p in MAY_IMPORT)), []);
});

test('each part imports only the parts below it (static imports, require() and import() alike)', () => {
  const wrong = FILES.flatMap((f) => (ALL.get(f) ?? [])
    .filter((g) => part(g) !== part(f) && !MAY_IMPORT[part(f)]?.includes(part(g)))
    .map((g) => `${f} → ${g}`));
  assert.deepEqual(wrong, []);
});

test('src/engine never imports the editor', () => {
  const editor = sources(path.join('src', 'engine')).filter((f) => /(?:from\s+|require\(\s*|import\(\s*)['"]vscode['"]/.test(code(f)));
  assert.deepEqual(editor, []);
});

test(`no source file of src/ or bench/ is over ${MAX_LINES} lines`, () => {
  const long = FILES.map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n').length] as const)
    .filter(([, n]) => n > MAX_LINES)
    .map(([f, n]) => `${f}: ${n} lines`);
  assert.deepEqual(long, []);
});

test('the graph reader sees real edges (a reader that finds nothing would pass the tests above)', () => {
  // A dynamic import is seen, and a part outside its order is refused.
  assert.deepEqual(dynamicSpecs("function f() { return require('../../bench/cli').x + import('./y'); }"), ['../../bench/cli', './y']);
  const engine = path.join('src', 'engine', 'process', 'engine.ts');
  assert.ok((GRAPH.get(engine) ?? []).every((g) => ALL.get(engine)?.includes(g)));
  assert.ok(!MAY_IMPORT['src/engine/runtime'].includes('src/engine/process'));
  assert.equal(part(path.join('src', 'engine', 'decode', 'rng.ts')), 'src/engine/decode');
  assert.ok(GRAPH.get(path.join('src', 'vscode', 'controller.ts'))?.includes(path.join('src', 'vscode', 'provider.ts')));
  assert.ok(GRAPH.get(path.join('src', 'vscode', 'controller.ts'))?.includes(path.join('src', 'engine', 'process', 'engineHost.ts')));
  assert.ok(GRAPH.get(path.join('src', 'engine', 'process', 'engineProcess.ts'))?.includes(path.join('src', 'engine', 'process', 'engine.ts')));
});
