/**
 * The engine: a target model, its tokenizer and FIM template, and any number of drafters sharing that tokenizer.
 * complete(): text around the cursor → FIM prompt tokens → generate (draft → verify → commit) → stop rules → text.
 */
import { Drafter, LookupThenModelDrafter, ModelDrafter, NoDrafter, PromptLookupDrafter } from './drafters';
import { CancelSignal, TargetState, generate } from './decode';
import { FimTemplate, buildFimPrompt, detectFimTemplate } from './fim';
import { CausalLM } from './model';
import { StopChecker } from './stops';
import { TokenizerWrapper } from './tokenizer';
import { CouplingKind, SamplingSettings } from './types';

export interface DrafterSpec {
  name: string;
  dir: string;
  /** onnx/ variant of this drafter (defaults to fp32). */
  variant?: string;
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
  executionProviders?: string[];
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
  maxTokens: number;
  mode: CompletionMode;
  /** Prompt budget in tokens (before + after + FIM markers). */
  maxPromptTokens?: number;
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
}

export interface EngineInfo {
  target: string;
  drafters: string[];
  fim: string;
  vocabSize: number;
  maxPositions: number;
}

export class Engine {
  private readonly drafters = new Map<string, Drafter>();
  private readonly state: TargetState;

  private constructor(
    private readonly targetDir: string,
    readonly target: CausalLM,
    readonly tokenizer: TokenizerWrapper,
    readonly fim: FimTemplate,
    private readonly options: EngineOptions,
  ) {
    this.state = new TargetState(target);
    this.drafters.set('none', new NoDrafter());
    this.drafters.set('prompt-lookup', new PromptLookupDrafter());
  }

  static async create(options: EngineOptions): Promise<Engine> {
    const tokenizer = TokenizerWrapper.fromDir(options.target);
    const fim = detectFimTemplate(tokenizer, options.fim);
    const target = await CausalLM.load(options.target, {
      threads: options.threads, variant: options.variant, executionProviders: options.executionProviders,
    });
    const engine = new Engine(options.target, target, tokenizer, fim, options);
    for (const d of options.drafters ?? []) await engine.addDrafter(d.name, d.dir, d.variant);
    return engine;
  }

  /** Loads a model drafter; refuses one whose vocabulary differs from the target's. */
  async addDrafter(name: string, dir: string, variant?: string): Promise<void> {
    if (this.drafters.has(name)) throw new Error(`a drafter named "${name}" is already loaded`);
    const tok = TokenizerWrapper.fromDir(dir);
    if (tok.vocabularyFingerprint() !== this.tokenizer.vocabularyFingerprint()) {
      throw new Error(
        `drafter "${name}" (${dir}) has a different tokenizer from the target (${this.targetDir}): ` +
          `speculative decoding needs both models to share one vocabulary`,
      );
    }
    // The drafter's logits never reach the output, so it may take the cheaper one-token path (no padding).
    const model = await CausalLM.load(dir, {
      threads: this.options.threads, variant, executionProviders: this.options.executionProviders,
      minTokensPerCall: 1,
    });
    const drafter = new ModelDrafter(name, model);
    this.drafters.set(name, drafter);
    this.drafters.set(`prompt-lookup+${name}`, new LookupThenModelDrafter(drafter));
  }

  drafterNames(): string[] {
    return [...this.drafters.keys()];
  }

  info(): EngineInfo {
    return {
      target: this.targetDir,
      drafters: this.drafterNames(),
      fim: this.fim.id,
      vocabSize: this.tokenizer.vocabSize,
      maxPositions: this.target.config.maxPositions,
    };
  }

  /** The FIM prompt's token ids for a request (what complete() feeds the models). */
  promptFor(req: Pick<CompletionRequest, 'before' | 'after' | 'maxPromptTokens' | 'maxTokens'>): number[] {
    return buildFimPrompt(this.tokenizer, this.fim, req.before, req.after, this.promptBudget(req)).ids;
  }

  async complete(req: CompletionRequest, signal?: CancelSignal): Promise<CompletionResult> {
    const drafter = this.drafters.get(req.drafter);
    if (!drafter) {
      throw new Error(`unknown drafter "${req.drafter}"; loaded: ${this.drafterNames().join(', ')}`);
    }
    const prompt = buildFimPrompt(this.tokenizer, this.fim, req.before, req.after, this.promptBudget(req));
    const stopTokenIds = new Set<number>(this.target.config.eosTokenIds);
    for (const s of this.fim.stopTokens) {
      const id = this.tokenizer.specialTokenId(s);
      if (id !== undefined) stopTokenIds.add(id);
    }
    const checker = new StopChecker(this.tokenizer, {
      maxTokens: req.maxTokens, mode: req.mode, stopTokenIds, before: req.before, after: req.after,
    });
    const stats = await generate(this.state, drafter, {
      prompt: prompt.ids,
      coupling: req.coupling,
      sampling: req.sampling,
      seed: req.seed,
      gamma: req.gamma,
      maxTokens: req.maxTokens,
      sink: checker,
      vocabLimit: this.tokenizer.vocabSize,
      signal,
    });
    const decodeSeconds = stats.seconds - stats.prefillSeconds;
    return {
      text: checker.text(),
      tokens: stats.tokens.length,
      promptTokens: prompt.ids.length,
      targetCalls: stats.targetCalls,
      drafterCalls: stats.drafterCalls,
      drafted: stats.drafted,
      accepted: stats.accepted,
      acceptance: stats.drafted > 0 ? stats.accepted / stats.drafted : 0,
      seconds: stats.seconds,
      prefillSeconds: stats.prefillSeconds,
      targetSeconds: stats.targetSeconds,
      drafterSeconds: stats.drafterSeconds,
      rounds: stats.rounds,
      tokensPerSecond: decodeSeconds > 0 ? stats.tokens.length / decodeSeconds : 0,
      stopReason: stats.cancelled ? 'cancelled' : checker.reason() ?? 'maxTokens',
      cancelled: stats.cancelled,
      drafter: req.drafter,
      coupling: req.coupling,
      seed: req.seed,
    };
  }

  /** Forgets the target's and drafters' caches (the next completion starts from an empty KV cache). */
  resetCaches(): void {
    this.state.reset();
    for (const d of this.drafters.values()) d.reset();
  }

  async dispose(): Promise<void> {
    await this.target.dispose();
    for (const d of this.drafters.values()) if (d instanceof ModelDrafter) await d.model.dispose();
  }

  private promptBudget(req: Pick<CompletionRequest, 'maxPromptTokens' | 'maxTokens'>): number {
    const room = this.target.config.maxPositions - req.maxTokens - 16;
    return Math.max(8, Math.min(req.maxPromptTokens ?? 1024, room));
  }
}
