/**
 * Cross-file context, step 2: snippets of other files + the FIM prompt of the current file, in the model family's
 * own repository-level format, within the prompt budget (counted with the target's real tokenizer: this runs in the
 * engine process). Pure given a tokenizer.
 *
 *  - lockstep (the project's models, trained on this exact layout): for each snippet
 *    <|endoftext|>{path}\n{content}, then <|endoftext|>{currentPath}\n<|fim_prefix|>…<|fim_suffix|>…<|fim_middle|>
 *  - qwen2.5-coder (QwenLM's documented repo-level FIM): <|repo_name|>{name}\n then <|file_sep|>{path}\n{content}
 *    per snippet, then <|file_sep|>{currentPath}\n<|fim_prefix|>…
 *  - other families: no repository format is used; the plain FIM prompt.
 * Markers are inserted as special ids, never parsed from text. With no snippet that fits, the prompt is exactly the
 * plain FIM prompt (no path line).
 */
import { buildFimPrompt, type FimPrompt, type FimTemplate } from './fim';
import type { TokenizerWrapper } from './tokenizer';

export interface ContextPromptInput {
  /** Snippets of other files, most relevant first (snippets.ts); content is cut to whole lines by the caller. */
  files: readonly { path: string; text: string }[];
  current: { path: string; before: string; after: string };
  /** Most tokens the snippets and their headers (the current file's path line included) may take. */
  budgetTokens: number;
  /** The whole prompt's budget (contextFit.ts); the current file keeps at least half of it. */
  maxPromptTokens: number;
  /** Qwen's <|repo_name|> line (the workspace folder's name); default "workspace". */
  repoName?: string;
}

export interface ContextPrompt extends FimPrompt {
  /** Paths of the snippets in the prompt, in prompt order ([] = the plain FIM prompt). */
  contextFiles: string[];
  /** Tokens the snippets and headers take. */
  contextTokens: number;
}

/** The share of the prompt budget the current file always keeps (the text at the cursor matters most). */
const CURRENT_SHARE = 1 / 2;
/** Snippets tokenized per request at most (bounded work however many the caller sends). */
const MAX_SNIPPETS_TRIED = 32;
/** A snippet cut shorter than this many tokens is not worth its header. */
const MIN_SNIPPET_TOKENS = 24;

/**
 * A snippet's ids within `room`: whole, or its first lines (the most lines that fit, found by bisection over real
 * encodings); undefined when not even one line fits in MIN_SNIPPET_TOKENS or more.
 */
function fitSnippet(fmt: RepoFormat, path: string, text: string, room: number): number[] | undefined {
  const whole = fmt.file(path, text);
  if (whole.length <= room) return whole;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let lo = 0;
  let best: number[] | undefined;
  let hi = lines.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const ids = fmt.file(path, `${lines.slice(0, mid).join('\n')}\n`);
    if (ids.length <= room) {
      lo = mid;
      best = ids;
    } else hi = mid - 1;
  }
  return best !== undefined && best.length >= MIN_SNIPPET_TOKENS ? best : undefined;
}

interface RepoFormat {
  /** Ids before the first snippet. */
  head: number[];
  /** One snippet's ids. */
  file(path: string, content: string): number[];
  /** Ids between the last snippet and the FIM prefix marker. */
  current(path: string): number[];
}

const withNewline = (s: string): string => (s.endsWith('\n') ? s : `${s}\n`);

/** The repository format of the template's family, or undefined when it has none (or the tokenizer lacks its markers). */
function repoFormat(tok: TokenizerWrapper, template: FimTemplate, repoName: string): RepoFormat | undefined {
  if (template.id === 'lockstep') {
    const eot = tok.specialTokenId('<|endoftext|>');
    if (eot === undefined) return undefined;
    return {
      head: [],
      file: (path, content) => [eot, ...tok.encodePlain(`${path}\n${withNewline(content)}`)],
      current: (path) => [eot, ...tok.encodePlain(`${path}\n`)],
    };
  }
  if (template.id === 'qwen2.5-coder') {
    const repo = tok.specialTokenId('<|repo_name|>');
    const sep = tok.specialTokenId('<|file_sep|>');
    if (repo === undefined || sep === undefined) return undefined;
    return {
      head: [repo, ...tok.encodePlain(`${repoName}\n`)],
      file: (path, content) => [sep, ...tok.encodePlain(`${path}\n${withNewline(content)}`)],
      current: (path) => [sep, ...tok.encodePlain(`${path}\n`)],
    };
  }
  return undefined;
}

/** True when the template's family has a repository-level format that buildContextPrompt uses. */
export function supportsRepoContext(tok: TokenizerWrapper, template: FimTemplate): boolean {
  return repoFormat(tok, template, '') !== undefined;
}

function plain(tok: TokenizerWrapper, template: FimTemplate, input: ContextPromptInput): ContextPrompt {
  const p = buildFimPrompt(tok, template, input.current.before, input.current.after, input.maxPromptTokens);
  return { ...p, contextFiles: [], contextTokens: 0 };
}

/**
 * The prompt with cross-file context: the current file's FIM part first gets its share (at least half the budget,
 * more when the snippets' budget is smaller), the snippets then fill what is left up to budgetTokens, best first;
 * one that does not fit whole keeps its first lines that do (or is skipped when that is under MIN_SNIPPET_TOKENS). They are placed least relevant first, so the most relevant
 * one sits next to the current file.
 */
export function buildContextPrompt(tok: TokenizerWrapper, template: FimTemplate, input: ContextPromptInput): ContextPrompt {
  const total = Math.floor(input.maxPromptTokens);
  const budget = Math.floor(Math.min(input.budgetTokens, total * (1 - CURRENT_SHARE)));
  const fmt = repoFormat(tok, template, input.repoName ?? 'workspace');
  if (fmt === undefined || input.files.length === 0 || !(budget > 0)) return plain(tok, template, input);

  const lead = tok.leadingSpecialIds();
  const currentHead = fmt.current(input.current.path);
  const fixed = fmt.head.length + currentHead.length;
  const fimBudget = total - budget;
  if (budget <= fixed || fimBudget < lead.length + 3 + 16) return plain(tok, template, input);
  const fim = buildFimPrompt(tok, template, input.current.before, input.current.after, fimBudget);

  // What the current file left unused goes to the snippets too, never beyond their own budget.
  let room = Math.min(input.budgetTokens, total - fim.ids.length) - fixed;
  const chosen: { path: string; ids: number[] }[] = [];
  for (const f of input.files.slice(0, MAX_SNIPPETS_TRIED)) {
    if (room < MIN_SNIPPET_TOKENS) break;
    const ids = fitSnippet(fmt, f.path, f.text, room);
    if (ids === undefined) continue;
    chosen.push({ path: f.path, ids });
    room -= ids.length;
  }
  if (chosen.length === 0) return plain(tok, template, input);

  chosen.reverse();
  const snippetIds = chosen.flatMap((c) => c.ids);
  const ids = [...lead, ...fmt.head, ...snippetIds, ...currentHead, ...fim.ids.slice(lead.length)];
  return {
    ...fim,
    ids,
    contextFiles: chosen.map((c) => c.path),
    contextTokens: fmt.head.length + snippetIds.length + currentHead.length,
  };
}
