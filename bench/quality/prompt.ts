/**
 * The prompt `lockstep bench quality` sends: what the extension sends for the same cursor. With context, the
 * package's other files are ranked by the engine's snippet selection (src/engine/prompt/snippets.ts: 16-line windows by
 * Jaccard similarity of identifiers, CrossCodeEval's retrieval) within the extension's character bound, and the
 * engine's assembly (src/engine/prompt/contextPrompt.ts) lays them out in the target family's repository format within the
 * default budget of lockstep.context.budgetTokens; without, the plain FIM prompt.
 */
import { buildContextPrompt } from '../../src/engine/prompt/contextPrompt';
import type { FimTemplate } from '../../src/engine/prompt/fim';
import type { RequestContext } from '../../src/engine/request/requests';
import { requestContext as engineRequestContext } from '../../src/engine/prompt/snippets';
import type { TokenizerWrapper } from '../../src/engine/prompt/tokenizer';
import type { PackageFile } from './data';

/** lockstep.context.budgetTokens' default (package.json). */
export const CONTEXT_BUDGET_TOKENS = 512;

export interface QualityPromptRequest {
  /** The package's name (Qwen's <|repo_name|>). */
  package: string;
  path: string;
  before: string;
  after: string;
  /** The package's files (the current one is never a source). */
  files: readonly PackageFile[];
  /** The prompt's budget (the engine's fitContext). */
  maxPromptTokens: number;
  withContext: boolean;
  budgetTokens?: number;
}

export interface QualityPrompt {
  ids: number[];
  /** Snippets in the prompt (0: the plain FIM prompt). */
  snippets: number;
}

/** The request context the extension would attach for this cursor (undefined when no window shares an identifier). */
export function requestContext(req: QualityPromptRequest): RequestContext | undefined {
  return engineRequestContext(req.files, { path: req.path, before: req.before, after: req.after }, req.budgetTokens ?? CONTEXT_BUDGET_TOKENS, req.package);
}

/** The prompt's ids, built as Engine.promptFor builds them for a request with this context. */
export function qualityPrompt(tok: TokenizerWrapper, fim: FimTemplate, req: QualityPromptRequest): QualityPrompt {
  const c = req.withContext ? requestContext(req) : undefined;
  const p = buildContextPrompt(tok, fim, {
    files: c?.snippets ?? [], current: { path: c?.path ?? '', before: req.before, after: req.after },
    budgetTokens: c?.budgetTokens ?? 0, maxPromptTokens: req.maxPromptTokens, repoName: c?.repoName,
  });
  return { ids: p.ids, snippets: p.contextFiles.length };
}
