/**
 * Messages between the engine process (engineProcess.ts → engineServer.ts) and its client (client.ts) in the
 * extension host or a test. Plain JSON over the child process's IPC channel.
 */
import type { CompletionRequest, CompletionResult, EngineInfo, EngineOptions } from '../request/requests';
import type { FusedEvent } from '../runtime/fusedUpgrade';

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
  | { type: 'beat'; id: number; slowestMs: number }
  /** The target's fused copy, made in the background: progress, ready, swapped in or failed. */
  | { type: 'fused'; event: FusedEvent }
  /** The engine's description changed (a fused copy was swapped in). */
  | { type: 'info'; info: EngineInfo };

export const HEARTBEAT_MS = 250;

