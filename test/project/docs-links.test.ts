/**
 * Every relative link of README.md, docs/*.md and bench/RESULTS.md names a file that exists, and every #anchor names a heading of its
 * page (as GitHub makes heading anchors), so that moving a section or a file cannot leave a reader at a dead end.
 * Links in code (fenced blocks, `inline code`) are not links and are left out; http(s) and mailto links are not
 * checked (no network in the tests).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');

/** The pages checked: the README, every page of docs/ and the generated results (its figure links). */
function pages(): string[] {
  const docs = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', ...docs, 'bench/RESULTS.md'];
}

/** Markdown without its fenced code blocks and inline code spans (line count kept: a block's lines become empty). */
function withoutCode(markdown: string): string {
  let fence: string | undefined;
  return markdown
    .split('\n')
    .map((line) => {
      const m = /^\s*(`{3,}|~{3,})/.exec(line);
      if (m) {
        if (fence === undefined) fence = m[1][0];
        else if (m[1][0] === fence) fence = undefined;
        return '';
      }
      return fence === undefined ? line.replace(/(`+)[^`]*?\1/g, '') : '';
    })
    .join('\n');
}

/** The targets of the page's links and images, with their 1-based lines. */
function linkTargets(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  withoutCode(markdown).split('\n').forEach((text, i) => {
    for (const m of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push({ line: i + 1, target: m[1] });
  });
  return out;
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors of a Markdown page's headings (a repeated heading gets -1, -2 … as on GitHub); headings keep their `code`. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const f = /^\s*(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === undefined) fence = f[1][0];
      else if (f[1][0] === fence) fence = undefined;
      continue;
    }
    const m = fence === undefined ? /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line) : null;
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

test('every relative link of README.md and docs/*.md resolves, #anchors included', () => {
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages()) {
    const file = path.join(ROOT, page);
    for (const { line, target } of linkTargets(fs.readFileSync(file, 'utf8'))) {
      if (/^(https?:|mailto:)/.test(target)) continue;
      checked++;
      const [rel, anchor] = target.split('#', 2) as [string, string | undefined];
      const dest = rel === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(rel));
      if (!fs.existsSync(dest)) {
        broken.push(`${page}:${line}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined && dest.endsWith('.md') && !anchors(fs.readFileSync(dest, 'utf8')).has(anchor)) {
        broken.push(`${page}:${line}: ${target} (no heading with that anchor in ${path.relative(ROOT, dest)})`);
      }
    }
  }
  assert.ok(checked >= 20, `only ${checked} relative links found`);
  assert.deepEqual(broken, []);
});

test('anchors as GitHub makes them', () => {
  assert.equal(slug("Where a target call's time goes"), 'where-a-target-calls-time-goes');
  assert.equal(slug('Against llama.cpp (same weights)'), 'against-llamacpp-same-weights');
  assert.equal(slug('Keystroke → ghost text at this size'), 'keystroke--ghost-text-at-this-size');
  assert.equal(slug('The Qwen2.5-Coder stand-in (`tools/standin/`, TypeScript)'), 'the-qwen25-coder-stand-in-toolsstandin-typescript');
  assert.deepEqual([...anchors('# A\n## B\n```\n# not a heading\n```\n## B\n')], ['a', 'b', 'b-1']);
  assert.deepEqual(linkTargets('[a](x.md) `[b](y.md)` ![c](m.png "t")\n```\n[d](z.md)\n```\n'), [
    { line: 1, target: 'x.md' },
    { line: 1, target: 'm.png' },
  ]);
});

test('every repository path the docs name in `code` exists (a moved file leaves no stale path behind)', () => {
  const stale: string[] = [];
  let checked = 0;
  for (const page of [...pages(), 'tools/README.md', 'test/e2e/README.md']) {
    const lines = fs.readFileSync(path.join(ROOT, page), 'utf8').split('\n');
    lines.forEach((text, i) => {
      for (const m of text.matchAll(/`((?:src|test|bench|media|docs)\/[A-Za-z0-9_./-]+)`/g)) {
        const p = m[1].replace(/[/.]+$/, '');
        checked++;
        if (!fs.existsSync(path.join(ROOT, p))) stale.push(`${page}:${i + 1}: ${p}`);
      }
    });
  }
  assert.ok(checked >= 50, `only ${checked} paths found`);
  assert.deepEqual(stale, []);
});
