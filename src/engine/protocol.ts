/** Messages between the engine's worker thread and its client (the extension host or a test). */
import type { CompletionRequest, CompletionResult, EngineInfo, EngineOptions } from './engine';

export type ToWorker =
  | { type: 'init'; options: EngineOptions; cancel: SharedArrayBuffer }
  | { type: 'complete'; id: number; request: CompletionRequest }
  | { type: 'dispose' };

export type FromWorker =
  | { type: 'ready'; info: EngineInfo }
  | { type: 'result'; id: number; result: CompletionResult }
  | { type: 'error'; id: number | null; message: string };
