/**
 * The module layering of src/ and bench/: the product never imports the benchmarks statically (`lockstep bench`
 * loads them on demand, src/cli/benchCommand.ts), and no runtime import circle runs through src/ or bench/
 * (`import type` is erased by the compiler and does not count).
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../src/models/catalog';

const root = packageRoot();

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const STATIC = /^\s*(?:import|export)\s+(?!type\s)[^;]*?\bfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;
const LAZY = /\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function resolve(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec).replace(/\.js$/, '');
  return [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
}

/** Runtime imports of each file (static ones, and require()/import() of a literal path when `lazy`). */
function graph(files: string[], lazy: boolean): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    const specs = [...text.matchAll(STATIC)].map((m) => m[1] ?? m[2]);
    if (lazy) specs.push(...[...text.matchAll(LAZY)].map((m) => m[1] ?? m[2]));
    g.set(f, specs.map((s) => resolve(f, s)).filter((t): t is string => t !== undefined));
  }
  return g;
}

/** One cycle of `g` as a list of files, or undefined. */
function findCycle(g: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (v: string): string[] | undefined => {
    state.set(v, 'open');
    stack.push(v);
    for (const w of g.get(v) ?? []) {
      if (state.get(w) === 'open') return [...stack.slice(stack.indexOf(w)), w];
      if (state.get(w) === undefined) {
        const c = visit(w);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(v, 'done');
    return undefined;
  };
  for (const v of g.keys()) {
    if (state.get(v) !== undefined) continue;
    const c = visit(v);
    if (c) return c;
  }
  return undefined;
}

describe('module layering', () => {
  const src = sources(path.join(root, 'src'));
  const bench = sources(path.join(root, 'bench'));

  test('nothing in src/ imports bench/ statically', () => {
    const benchDir = path.join(root, 'bench') + path.sep;
    const offenders = [...graph(src, false)].flatMap(([f, ts]) =>
      ts.filter((t) => t.startsWith(benchDir)).map((t) => `${path.relative(root, f)} → ${path.relative(root, t)}`));
    assert.deepEqual(offenders, []);
  });

  test('no import circle through src/ and bench/, counting the lazily loaded benchmarks', () => {
    const cycle = findCycle(graph([...src, ...bench], true));
    assert.equal(cycle?.map((f) => path.relative(root, f)).join(' → '), undefined);
  });
});
