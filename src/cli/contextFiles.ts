/**
 * `lockstep complete --context-file PATH …`: cross-file context from the terminal, chosen exactly as the extension
 * chooses it (snippets.ts requestContext: the files' windows ranked by identifier overlap with the text around the
 * cursor, within the budget) so that a completion there and in the editor get the same prompt.
 */
import * as path from 'node:path';
import type { RequestContext } from '../engine/request/requests';
import type { ContextFile } from '../engine/prompt/snippets';
import { requestContext } from '../engine/prompt/snippets';
import { UsageError } from './args';
import { readText } from './prompts';

/** The extension's default `lockstep.context.budgetTokens`. */
export const DEFAULT_CONTEXT_BUDGET = 512;

export interface CliContextOptions {
  files: readonly string[];
  budgetTokens?: number;
  /** The current file's path in the prompt (relative to cwd); a file position's own path by default. */
  currentPath?: string;
  /** The workspace name (Qwen's <|repo_name|>): the cwd's folder name by default. */
  repoName?: string;
}

/**
 * Paths as the extension writes them: relative to the workspace (here the cwd), forward slashes. A file outside the
 * cwd is named by its base name (an absolute path in the prompt would tell the model about this machine, not the
 * project).
 */
function workspacePath(file: string, cwd: string): string {
  const abs = path.resolve(cwd, file);
  const rel = path.relative(cwd, abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return path.basename(abs);
  return rel.split(path.sep).join('/');
}

/**
 * The request's context, or undefined when no file was given or no snippet shares an identifier with the text
 * around the cursor (then the prompt is the plain FIM prompt, as in the editor).
 */
export function cliContext(o: CliContextOptions, prompt: { before: string; after: string }, cwd: string): RequestContext | undefined {
  if (o.files.length === 0) {
    if (o.budgetTokens !== undefined) throw new UsageError('--context-budget goes with --context-file');
    return undefined;
  }
  const current = workspacePath(o.currentPath ?? 'untitled', cwd);
  const files: ContextFile[] = o.files.map((f) => ({ path: workspacePath(f, cwd), text: readText(f, cwd) }));
  const repoName = o.repoName ?? (path.basename(path.resolve(cwd)) || 'workspace');
  return requestContext(files, { path: current, before: prompt.before, after: prompt.after }, o.budgetTokens ?? DEFAULT_CONTEXT_BUDGET, repoName);
}
