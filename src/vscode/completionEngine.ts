/**
 * What the provider and the commands use of an engine: the local EngineHost (an engine process) and RemoteEngine
 * (`lockstep serve` over HTTP) both have this surface, so the controller picks one by `lockstep.server.url`.
 */
import type { CompletionRequest, CompletionResult, EngineInfo } from '../engine/request/requests';

export interface CompletionJob {
  id: number;
  result: Promise<CompletionResult>;
}

export interface CompletionEngine {
  /** Resolves when the engine can complete (rejects when it cannot: the status bar and the log say why). */
  ready(): Promise<EngineInfo>;
  /** Starts a completion; `supersede` (default true) cancels every earlier request. */
  complete(request: CompletionRequest, supersede?: boolean): CompletionJob;
  /** Cancels one request: its result resolves as cancelled. */
  cancel(id: number): void;
  /** Cancels everything queued or running. */
  cancelAll(): void;
}
