/**
 * The prompt `lockstep bench quality` sends, with or without cross-file context, in the repository-level format the
 * project's models are trained on (tools/repo_data.py):
 *   for each snippet: <|endoftext|>{path}\n{snippet}   then   <|endoftext|>{currentPath}\n + the plain FIM prompt.
 * Without snippets it is the plain FIM prompt, as the extension sends it. Interim scaffolding: snippets are 16-line
 * windows (stride 8) of the package's other files ranked by the Jaccard similarity of their identifiers with the
 * lines around the cursor (CrossCodeEval's retrieval); the engine's own assembly replaces it once it exists.
 */
import { buildFimPrompt, FimTemplate } from '../src/engine/fim';
import type { TokenizerWrapper } from '../src/engine/tokenizer';
import type { PackageFile } from './qualityData';

export interface ContextPromptRequest {
  path: string;
  before: string;
  after: string;
  /** The package's files (the current one is skipped). */
  files: readonly PackageFile[];
  /** Token budget of the whole prompt. */
  maxPromptTokens: number;
  withContext: boolean;
}

export interface ContextPrompt {
  ids: number[];
  /** Snippets included (0 without context, or when none fits or matches). */
  snippets: number;
}

/** Builds a prompt's token ids; the bench takes any implementation (the engine's, once it has one). */
export type ContextPromptBuilder = (tok: TokenizerWrapper, fim: FimTemplate, req: ContextPromptRequest) => ContextPrompt;

const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_$]*/g;
const WINDOW = 16;
const STRIDE = 8;
/** Share of the budget the FIM part keeps when there is context (the rest goes to snippets). */
const FIM_SHARE = 0.6;

const ids = (text: string) => new Set(text.match(IDENTIFIER) ?? []);

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  let common = 0;
  for (const x of a) if (b.has(x)) common++;
  const union = a.size + b.size - common;
  return union === 0 ? 0 : common / union;
}

/** Other files' windows sharing identifiers with the cursor's surroundings, best first (ties: file, then line order). */
export function rankWindows(files: readonly PackageFile[], current: string, before: string, after: string): { path: string; text: string }[] {
  const query = ids(before.split('\n').slice(-17).join('\n') + after.split('\n').slice(0, 5).join('\n'));
  const scored: { path: string; text: string; score: number; file: number; line: number }[] = [];
  files.forEach((f, file) => {
    if (f.path === current) return;
    const lines = f.text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (let line = 0; line < lines.length; line += STRIDE) {
      const text = `${lines.slice(line, line + WINDOW).join('\n')}\n`;
      const score = jaccard(query, ids(text));
      if (score > 0) scored.push({ path: f.path, text, score, file, line });
      if (line + WINDOW >= lines.length) break;
    }
  });
  scored.sort((x, y) => y.score - x.score || x.file - y.file || x.line - y.line);
  const taken: typeof scored = [];
  for (const s of scored) {
    if (!taken.some((t) => t.file === s.file && Math.abs(t.line - s.line) < WINDOW)) taken.push(s);
  }
  return taken;
}

export const interimContextPrompt: ContextPromptBuilder = (tok, fim, req) => {
  const plain = () => ({ ids: buildFimPrompt(tok, fim, req.before, req.after, req.maxPromptTokens).ids, snippets: 0 });
  const eot = tok.specialTokenId('<|endoftext|>');
  // only the project's own models learnt this format; other families get the plain prompt in both arms
  if (!req.withContext || fim.id !== 'lockstep' || eot === undefined) return plain();
  const fimIds = buildFimPrompt(tok, fim, req.before, req.after, Math.floor(req.maxPromptTokens * FIM_SHARE)).ids;
  const head = [eot, ...tok.encodePlain(`${req.path}\n`)];
  let budget = req.maxPromptTokens - fimIds.length - head.length;
  const pieces: number[][] = [];
  for (const w of rankWindows(req.files, req.path, req.before, req.after)) {
    const piece = [eot, ...tok.encodePlain(`${w.path}\n`), ...tok.encodePlain(w.text)];
    if (piece.length > budget) continue;
    pieces.push(piece);
    budget -= piece.length;
    if (budget < 24) break;
  }
  if (pieces.length === 0) return plain();
  return { ids: [...pieces.flat(), ...head, ...fimIds], snippets: pieces.length };
};
