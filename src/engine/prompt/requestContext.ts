/** Cross-file context of a request: part of the prompt, so part of what decides the completion's bytes. */
export interface RequestContext {
  /** The current file's workspace-relative path (forward slashes). */
  path: string;
  /** The workspace folder's name (Qwen's <|repo_name|>). */
  repoName: string;
  /** Snippets, most relevant first. */
  snippets: { path: string; text: string }[];
  /** Most prompt tokens the snippets may take. */
  budgetTokens: number;
}
