/**
 * The latency benchmark's context-assembly row: what cross-file context costs per keystroke in a synthetic 50-file
 * workspace, apart from the model. Three timings:
 *  - rank (extension host, every keystroke): the query's identifiers + Jaccard against every window of the 50 files
 *    (already indexed, as the extension keeps them between keystrokes) + deduplication → snippets;
 *  - index (extension host, once per file version): cutting all 50 files into windows with their identifier sets;
 *  - prompt (engine process, every request): tokenizing the chosen snippets and fitting them with the FIM prompt.
 * The extension's file checks (stat, real path) are not included.
 */
import { buildContextPrompt } from '../../src/engine/prompt/contextPrompt';
import type { FimTemplate } from '../../src/engine/prompt/fim';
import { SNIPPET_CHARS_PER_TOKEN, identifierSet, indexFile, queryText, selectSnippets, type ContextFile, type IndexedFile } from '../../src/engine/prompt/snippets';
import type { TokenizerWrapper } from '../../src/engine/prompt/tokenizer';
import { mulberry32 } from '../../src/cli/prompts';
import { quantile } from '../common';

export interface ContextAssemblyRow {
  files: number;
  lines: number;
  windows: number;
  keystrokes: number;
  rankP50Ms: number;
  rankP95Ms: number;
  indexMs: number;
  promptP50Ms: number;
  promptP95Ms: number;
  /** The plain FIM prompt of the same windows, for comparison: what the engine spends without context. */
  plainP50Ms: number;
  snippetsP50: number;
  contextTokensP50: number;
}

const FILES = 50;
const LINES_PER_FILE = 200;
const BUDGET_TOKENS = 512;

/** `count` JavaScript-like files of 200 lines over a shared vocabulary of identifiers (seeded: the same every run). */
export function syntheticWorkspace(count = FILES, seed = 1): ContextFile[] {
  const rand = mulberry32(seed);
  const names = Array.from({ length: 400 }, (_, i) => `${['get', 'set', 'make', 'load', 'parse', 'render'][i % 6]}${['User', 'Order', 'Invoice', 'Cart', 'Item', 'Price', 'Tax'][i % 7]}${i}`);
  const pick = (): string => names[Math.floor(rand() * names.length)];
  return Array.from({ length: count }, (_, f) => {
    const lines: string[] = [];
    while (lines.length < LINES_PER_FILE) {
      const fn = pick();
      lines.push(`export function ${fn}(${pick()}, ${pick()}) {`);
      for (let k = 0; k < 5; k++) lines.push(`  const ${pick()} = ${pick()}(${pick()}) + ${Math.floor(rand() * 100)};`);
      lines.push(`  return ${pick()};`, '}', '');
    }
    return { path: `src/module${f}.js`, text: `${lines.slice(0, LINES_PER_FILE).join('\n')}\n` };
  });
}

/**
 * Times the context assembly at `keystrokes` cursor positions in a 51st file of the same kind (the file being edited),
 * after an untimed warm-up.
 */
export function timeContextAssembly(tok: TokenizerWrapper, fim: FimTemplate, maxPromptTokens: number, keystrokes = 200): ContextAssemblyRow {
  const all = syntheticWorkspace(FILES + 1);
  const workspace = all.slice(0, FILES);
  const current = all[FILES].text;
  const rand = mulberry32(7);
  let t = performance.now();
  const indexed: IndexedFile[] = workspace.map((f) => indexFile(f));
  const indexMs = performance.now() - t;
  const rank: number[] = [];
  const prompt: number[] = [];
  const plain: number[] = [];
  const snippets: number[] = [];
  const tokens: number[] = [];
  for (let i = -10; i < keystrokes; i++) {
    // The window the extension would send (8 characters per token of budget each side).
    const at = Math.floor(rand() * current.length);
    const before = current.slice(Math.max(0, at - maxPromptTokens * 8), at);
    const after = current.slice(at, at + maxPromptTokens * 8);
    t = performance.now();
    const chosen = selectSnippets(indexed, identifierSet(queryText(before, after)), { maxChars: BUDGET_TOKENS * SNIPPET_CHARS_PER_TOKEN });
    const rankMs = performance.now() - t;
    t = performance.now();
    const built = buildContextPrompt(tok, fim, {
      files: chosen, current: { path: 'src/current.js', before, after }, budgetTokens: BUDGET_TOKENS, maxPromptTokens,
    });
    const promptMs = performance.now() - t;
    t = performance.now();
    buildContextPrompt(tok, fim, { files: [], current: { path: 'src/current.js', before, after }, budgetTokens: 0, maxPromptTokens });
    const plainMs = performance.now() - t;
    if (i < 0) continue;
    rank.push(rankMs);
    prompt.push(promptMs);
    plain.push(plainMs);
    snippets.push(built.contextFiles.length);
    tokens.push(built.contextTokens);
  }
  return {
    files: FILES, lines: FILES * LINES_PER_FILE, windows: indexed.reduce((n, f) => n + f.windows.length, 0), keystrokes,
    rankP50Ms: quantile(rank, 0.5), rankP95Ms: quantile(rank, 0.95), indexMs,
    promptP50Ms: quantile(prompt, 0.5), promptP95Ms: quantile(prompt, 0.95), plainP50Ms: quantile(plain, 0.5),
    snippetsP50: quantile(snippets, 0.5), contextTokensP50: quantile(tokens, 0.5),
  };
}

export function formatContextAssembly(c: ContextAssemblyRow): string[] {
  return [
    `context assembly (synthetic workspace: ${c.files} files, ${c.lines} lines, ${c.windows} windows; ${c.keystrokes} keystrokes; ` +
      `${c.snippetsP50} snippets / ${c.contextTokensP50} context tokens p50): ` +
      `rank p50 ${c.rankP50Ms.toFixed(2)} ms, p95 ${c.rankP95Ms.toFixed(2)} ms (extension host, per keystroke); ` +
      `prompt p50 ${c.promptP50Ms.toFixed(2)} ms, p95 ${c.promptP95Ms.toFixed(2)} ms (engine, tokenizing; ` +
      `the plain FIM prompt alone p50 ${c.plainP50Ms.toFixed(2)} ms); ` +
      `index ${c.indexMs.toFixed(1)} ms (once per file version)`,
  ];
}
