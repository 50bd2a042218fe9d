/**
 * The engine: a target model, its tokenizer and FIM template, and any number of drafters sharing that tokenizer.
 * complete(): text around the cursor → FIM prompt tokens → generate (draft → verify → commit) → stop rules → text.
 */
import { Drafter, LookupThenModelDrafter, ModelDrafter, NoDrafter, PromptLookupDrafter } from './drafters';
import { ContextFit, fitContext } from './contextFit';
import { CancelSignal, TargetState, generate, stopRequested } from './decode';
import { FimTemplate, buildFimPrompt, detectFimTemplate } from './fim';
import { CausalLM } from './model';
import { DeviceOutcome, deviceCandidates } from './device';
import { probeDevices } from './deviceProbe';
import { notStartedResult, type CompletionRequest, type CompletionResult, type DrafterSpec, type EngineInfo, type EngineOptions } from './requests';
import { StopChecker } from './stops';
import { TokenizerWrapper } from './tokenizer';

export type { CompletionMode, CompletionRequest, CompletionResult, DrafterSpec, EngineInfo, EngineOptions } from './requests';

export class Engine {
  private readonly drafters = new Map<string, Drafter>();
  private readonly state: TargetState;
  private readonly loadNotes: string[] = [];

  private constructor(
    private readonly targetDir: string,
    readonly target: CausalLM,
    readonly tokenizer: TokenizerWrapper,
    readonly fim: FimTemplate,
    private readonly options: EngineOptions,
    private readonly deviceOutcome: DeviceOutcome,
  ) {
    this.state = new TargetState(target);
    if (target.loadNote) this.loadNotes.push(`target: ${target.loadNote}`);
    this.drafters.set('none', new NoDrafter());
    this.drafters.set('prompt-lookup', new PromptLookupDrafter());
  }

  /**
   * Loads the target (and drafters) on the first device of the request's candidates that works; a device whose
   * provider fails to load the models is noted and the next one is tried, the CPU last.
   */
  static async create(options: EngineOptions): Promise<Engine> {
    const tokenizer = TokenizerWrapper.fromDir(options.target);
    const fim = detectFimTemplate(tokenizer, options.fim);
    const requested = options.device ?? 'cpu';
    const { order, skipped } = deviceCandidates(requested, probeDevices());
    const notes = [...skipped];
    let failed = false;
    for (const device of order) {
      const variant = options.variants?.[device] ?? options.variant;
      let engine: Engine | undefined;
      try {
        const target = await CausalLM.load(options.target, {
          threads: options.threads, variant, device, ...options.callRule, fastQuantizedKernels: options.fastQuantizedKernels, cacheDir: options.cacheDir,
        });
        const outcome: DeviceOutcome = {
          requested, used: device, variant, notes, fellBack: failed || (requested !== 'auto' && device !== requested),
        };
        engine = new Engine(options.target, target, tokenizer, fim, options, outcome);
        for (const d of options.drafters ?? []) await engine.addDrafter(d);
        return engine;
      } catch (e) {
        await engine?.dispose();
        if (device === 'cpu') throw e;
        notes.push(`${device}: ${(e as Error).message}`);
        failed = true;
      }
    }
    throw new Error(`no device could load the models (${notes.join('; ')})`);
  }

  /** Loads a model drafter; refuses one whose vocabulary differs from the target's. */
  async addDrafter(spec: DrafterSpec): Promise<void> {
    const { name, dir } = spec;
    const variant = spec.variants?.[this.target.device] ?? spec.variant;
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
      threads: this.options.threads, variant, device: this.target.device, minTokensPerCall: 1, tokenMultiple: 1, align: 1,
      fastQuantizedKernels: this.options.fastQuantizedKernels, cacheDir: this.options.cacheDir,
    });
    if (model.loadNote) this.loadNotes.push(`drafter ${name}: ${model.loadNote}`);
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
      device: this.deviceOutcome,
      loadNotes: [...this.loadNotes],
    };
  }

  /** The FIM prompt's token ids for a request (what complete() feeds the models). */
  promptFor(req: Pick<CompletionRequest, 'before' | 'after' | 'maxPromptTokens' | 'maxTokens'>): number[] {
    return buildFimPrompt(this.tokenizer, this.fim, req.before, req.after, this.fitContext(req).promptTokens).ids;
  }

  /** The maxTokens and prompt budget a request gets on this target (see contextFit.ts), and why, when capped. */
  fitContext(req: Pick<CompletionRequest, 'maxPromptTokens' | 'maxTokens'>): ContextFit {
    return fitContext(this.target.config.maxPositions, req.maxTokens, req.maxPromptTokens);
  }

  async complete(req: CompletionRequest, signal?: CancelSignal): Promise<CompletionResult> {
    const drafter = this.drafters.get(req.drafter);
    if (!drafter) {
      throw new Error(`unknown drafter "${req.drafter}"; loaded: ${this.drafterNames().join(', ')}`);
    }
    // A request cancelled while it waited is not even tokenized (an 8 KB window costs milliseconds to encode).
    if (await stopRequested(signal)) return notStartedResult(req);
    const fit = this.fitContext(req);
    const prompt = buildFimPrompt(this.tokenizer, this.fim, req.before, req.after, fit.promptTokens);
    const stopTokenIds = new Set<number>(this.target.config.eosTokenIds);
    for (const s of this.fim.stopTokens) {
      const id = this.tokenizer.specialTokenId(s);
      if (id !== undefined) stopTokenIds.add(id);
    }
    const checker = new StopChecker(this.tokenizer, {
      maxTokens: fit.maxTokens, mode: req.mode, stopTokenIds, before: req.before, after: req.after,
    });
    const stats = await generate(this.state, drafter, {
      prompt: prompt.ids,
      coupling: req.coupling,
      sampling: req.sampling,
      seed: req.seed,
      gamma: req.gamma,
      maxTokens: fit.maxTokens,
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
      maxTokensUsed: fit.maxTokens,
      promptBudget: fit.promptTokens,
      ...(fit.message === undefined ? {} : { contextNote: fit.message }),
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
}
