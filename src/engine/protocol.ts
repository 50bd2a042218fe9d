/**
 * Messages between the engine process (engineProcess.ts → engineServer.ts) and its client (client.ts) in the
 * extension host or a test. Plain JSON over the child process's IPC channel.
 */
import type { CompletionRequest, CompletionResult, EngineInfo, EngineOptions } from './engine';

export type ToEngine =
  | { type: 'init'; options: EngineOptions }
  | { type: 'complete'; id: number; request: CompletionRequest }
  /** Every request with an id below `below` is no longer wanted. */
  | { type: 'cancel'; below: number }
  | { type: 'dispose' };

/**
 * `slowestMs`: the longest stretch the engine has spent between two checkpoints (one model call, or one round of
 * drafting + verification): the client's watchdog scales its limit from it.
 */
export type FromEngine =
  | { type: 'ready'; info: EngineInfo }
  /** `engineMs`: from the request's arrival in the engine process to its result (the client's IPC cost is the rest). */
  | { type: 'result'; id: number; result: CompletionResult; slowestMs: number; engineMs: number }
  | { type: 'error'; id: number | null; message: string; slowestMs?: number }
  /** A sign of life while a request runs, sent from a checkpoint at most every HEARTBEAT_MS. */
  | { type: 'beat'; id: number; slowestMs: number };

export const HEARTBEAT_MS = 250;

/** The result of a request cancelled before it started: no tokenization, no model call. */
export function notStartedResult(req: CompletionRequest): CompletionResult {
  return {
    text: '', tokens: 0, promptTokens: 0, targetCalls: 0, drafterCalls: 0, drafted: 0, accepted: 0, acceptance: 0,
    seconds: 0, prefillSeconds: 0, targetSeconds: 0, drafterSeconds: 0, rounds: 0, tokensPerSecond: 0,
    stopReason: 'cancelled', cancelled: true, drafter: req.drafter, coupling: req.coupling, seed: req.seed,
  };
}
