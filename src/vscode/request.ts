/**
 * The one place the extension turns what it knows into a CompletionRequest: the text around the cursor (prompt.ts's
 * window), the settings, the session's seed, the drafter the plan chose and the other files' snippets (context.ts).
 * Pure, no `vscode` import: the inline provider and Verify build their requests here, so both send the same request
 * for the same cursor, and the completion cache keys exactly what is sent (cache.ts, requestKey.ts).
 */
import type { CompletionRequest, RequestContext } from '../engine/request/requests';
import { chooseMode, type PromptWindow } from './prompt';
import type { LockstepSettings } from './settings';

/** The settings a request is made of. */
export type RequestSettings = Pick<
  LockstepSettings,
  'coupling' | 'temperature' | 'topP' | 'topK' | 'draftTokens' | 'maxTokens' | 'multiline' | 'contextTokens'
>;

export interface RequestInputs {
  /** The text around the cursor as extractWindow cut it; its cursor line also chooses line or block. */
  window: Pick<PromptWindow, 'before' | 'after' | 'linePrefix' | 'lineSuffix'>;
  settings: RequestSettings;
  /** The session's seed (SeedState.current). */
  seed: number;
  /** The engine's name for the chosen drafter (EnginePlan's drafter.request; 'none' without a plan). */
  drafter: string;
  /** The other files' snippets (undefined: none, or the feature is off). */
  context?: RequestContext;
}

/** The whole request for a completion at the cursor. */
export function buildCompletionRequest(i: RequestInputs): CompletionRequest {
  const s = i.settings;
  return {
    ...(i.context === undefined ? {} : { context: i.context }),
    before: i.window.before,
    after: i.window.after,
    drafter: i.drafter,
    coupling: s.coupling,
    seed: i.seed,
    sampling: { temperature: s.temperature, topP: s.topP, topK: s.topK },
    gamma: s.draftTokens,
    maxTokens: s.maxTokens,
    mode: chooseMode(i.window, s.multiline),
    maxPromptTokens: s.contextTokens,
  };
}
