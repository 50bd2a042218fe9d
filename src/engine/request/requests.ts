/**
 * The engine's requests and results: what a caller (the CLI, the extension through the engine process, a benchmark)
 * gives the engine and gets back. Types only, plus the result of a request that never ran, so that the protocol and
 * the engine can share them without importing each other.
 */
import type { CallRule, Device, DeviceOutcome, DeviceRequest } from '../runtime/device';
import type { ExactnessVerdict } from '../runtime/exactness';
import type { FusedMode, FusedProgress } from '../runtime/fusedModel';
import type { SamplingSettings } from '../decode/types';
import type { CouplingKind } from '../decode/couplings/registry';
import type { RequestContext } from '../prompt/requestContext';

export type { RequestContext };

export interface DrafterSpec {
  name: string;
  dir: string;
  /** onnx/ variant of this drafter (defaults to fp32). */
  variant?: string;
  /** Variant per device (e.g. {webgpu: 'q4f16', cpu: 'q4'}); wins over `variant` on that device. */
  variants?: Partial<Record<Device, string>>;
}

export interface EngineOptions {
  /** Directory of the target model (Hugging Face ONNX layout). */
  target: string;
  drafters?: DrafterSpec[];
  /** intra-op threads (0 = onnxruntime's default). */
  threads?: number;
  /** FIM template name; recognised from the tokenizer when absent. */
  fim?: string;
  /** onnx/ variant of the target (fp32, fp16, q4f16 …); each drafter names its own. */
  variant?: string;
  /** Variant of the target per device; wins over `variant` on that device. */
  variants?: Partial<Record<Device, string>>;
  /** Execution device (default 'cpu'); 'auto' tries the GPU providers this platform offers, then the CPU. */
  device?: DeviceRequest;
  /** Overrides the device's call shape for the target (to measure a rule's cost, or to try one on new hardware). */
  callRule?: Partial<Pick<CallRule, 'minTokensPerCall' | 'tokenMultiple' | 'align'>>;
  /**
   * Devices the target cannot run on because the variant chosen for them is not downloaded: device → the message
   * (naming the variant and the download command). Such a device is skipped like one that failed to load.
   */
  missingVariants?: Partial<Record<Device, string>>;
  /** On the CPU, load q4 files through a cached copy with MatMulNBits accuracy_level 4 (default true; fastQ4.ts). */
  fastQuantizedKernels?: boolean;
  /** On the CPU, load Llama/Qwen2 files (fp32, fp16, q4, q4f16) through a cached copy on onnxruntime's fused operators (default true; fusedModel.ts). */
  fusedOps?: boolean;
  /**
   * A missing fused copy of the target: made before the engine is ready ('wait', the default: the CLI and benchmarks)
   * or in a worker thread while the original file serves, swapped in when ready ('background': the engine process).
   */
  fusedMode?: FusedMode;
  /** Progress of a copy made with 'wait' (the CLI's progress line). */
  onFusedProgress?: (p: FusedProgress) => void;
  /** With 'background', files up to this size still get their copy before the engine is ready (default 256 MiB). */
  fusedWaitMaxBytes?: number;
  /** Cache root for the exactness verdicts and those copies (default: lockstepCacheDir(), see cacheDir.ts). */
  cacheDir?: string;
}

export type CompletionMode = 'line' | 'block' | 'free';

export interface CompletionRequest {
  before: string;
  after: string;
  /** 'none', 'prompt-lookup', a model drafter's name, or 'prompt-lookup+<name>'. */
  drafter: string;
  coupling: CouplingKind;
  seed: number;
  sampling: SamplingSettings;
  gamma: number | 'auto';
  /** Most tokens to generate; capped at half the target's context (contextFit.ts). */
  maxTokens: number;
  mode: CompletionMode;
  /** Prompt budget in tokens (before + after + FIM markers); at most what the context leaves (contextFit.ts). */
  maxPromptTokens?: number;
  /** Snippets of other files for the prompt (contextPrompt.ts); absent or empty = the plain FIM prompt. */
  context?: RequestContext;
}

export interface CompletionResult {
  text: string;
  tokens: number;
  promptTokens: number;
  targetCalls: number;
  drafterCalls: number;
  drafted: number;
  accepted: number;
  /** accepted / drafted (0 when nothing was drafted). */
  acceptance: number;
  seconds: number;
  prefillSeconds: number;
  targetSeconds: number;
  /** Seconds inside the drafter's model calls (0 for free drafters). */
  drafterSeconds: number;
  /** Draft → verify rounds (target verification calls, prefill excluded). */
  rounds: number;
  tokensPerSecond: number;
  stopReason: string;
  cancelled: boolean;
  drafter: string;
  coupling: CouplingKind;
  seed: number;
  /** The completion's token ceiling used: the request's maxTokens, capped to fit the context (contextFit.ts). */
  maxTokensUsed?: number;
  /** The prompt budget used (FIM markers included). */
  promptBudget?: number;
  /** Why maxTokens was capped (one sentence), when it was. */
  contextNote?: string;
  /** Paths of the other files' snippets that made it into the prompt, in prompt order (absent: none). */
  contextFiles?: string[];
  /** Prompt tokens those snippets took (headers included). */
  contextTokens?: number;
  /** Set when a drafter was asked for but the target is not exact, so the completion was plain decoding. */
  draftingOff?: boolean;
}

export interface EngineInfo {
  target: string;
  drafters: string[];
  fim: string;
  vocabSize: number;
  maxPositions: number;
  /** The device the models run on, and why others were not used. */
  device: DeviceOutcome;
  /** The exactness probe's verdict on the target (drafting is off when it is not exact). */
  exactness: ExactnessVerdict;
  /** How the model files were loaded, when not as they are (e.g. a patched q4 copy, and why). */
  loadNotes: string[];
  /** Each model's variant, its file, and the file onnxruntime loaded (a fused or patched copy): the target first. */
  models: LoadedModel[];
}

export interface LoadedModel {
  /** 'target', or the drafter's name. */
  name: string;
  variant: string;
  file: string;
  loadedFile: string;
}

/** The result of a request cancelled before it started: no tokenization, no model call. */
export function notStartedResult(req: CompletionRequest): CompletionResult {
  return {
    text: '', tokens: 0, promptTokens: 0, targetCalls: 0, drafterCalls: 0, drafted: 0, accepted: 0, acceptance: 0,
    seconds: 0, prefillSeconds: 0, targetSeconds: 0, drafterSeconds: 0, rounds: 0, tokensPerSecond: 0,
    stopReason: 'cancelled', cancelled: true, drafter: req.drafter, coupling: req.coupling, seed: req.seed,
  };
}
