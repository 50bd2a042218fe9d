/**
 * The engine: a target model, its tokenizer and FIM template, and any number of drafters sharing that tokenizer.
 * complete(): text around the cursor → FIM prompt tokens → generate (draft → verify → commit) → stop rules → text.
 */
import type { Drafter, DrafterContext } from '../decode/drafters/drafter';
import { ModelDrafter } from '../decode/drafters/model';
import { NO_DRAFTER } from '../decode/drafters/none';
import { makeDrafter } from '../decode/drafters/registry';
import { type ParsedDrafter, builtinDrafterSpecs, drafterKind, formatDrafterSpec, modelDrafterSpecs } from '../decode/drafters/drafterSpec';
import { ContextFit, fitContext } from '../prompt/contextFit';
import { CancelSignal, TargetState, generate, stopRequested } from '../decode/decode';
import { type ContextPrompt, buildContextPrompt } from '../prompt/contextPrompt';
import { FimTemplate, detectFimTemplate } from '../prompt/fim';
import { CausalLM, LoadOptions } from '../runtime/model';
import { readModelConfig } from '../runtime/modelDir';
import { FusedEvent, FusedUpgrade } from '../runtime/fusedUpgrade';
import { RunningFusedJob, runFusedJob } from '../runtime/fusedModel';
import { CALL_RULES, Device, DeviceOutcome, deviceCandidates } from '../runtime/device';
import { CANDIDATE_RULES, CandidateRule, ExactnessVerdict, probeExactness } from '../runtime/exactness';
import { lockstepCacheDir } from '../runtime/cacheDir';
import { readVerdict, verdictKey, writeVerdict } from '../runtime/exactnessCache';
import { ORT_VERSION } from '../runtime/model';
import { probeDevices } from '../runtime/deviceProbe';
import { notStartedResult, type CompletionRequest, type CompletionResult, type DrafterSpec, type EngineInfo, type EngineOptions } from '../request/requests';
import { StopChecker } from '../prompt/stops';
import { TokenizerWrapper } from '../prompt/tokenizer';

export type { CompletionMode, CompletionRequest, CompletionResult, DrafterSpec, EngineInfo, EngineOptions } from '../request/requests';

export class Engine {
  /** Every drafter by the name requests give (drafterSpec.ts), in the order they were made. */
  private readonly drafters = new Map<string, Drafter>();
  /** The names of those `auto` may choose among. */
  private readonly candidateNames = new Set<string>();
  /** The loaded drafter models, by name: each kind that drafts with one shares its drafter (and so its cache). */
  private readonly models = new Map<string, ModelDrafter>();
  private readonly drafterContext: DrafterContext = {
    candidates: () => [...this.drafters.entries()].filter(([n]) => this.candidateNames.has(n)).map(([, d]) => d),
    costs: () => this.target.callCosts,
    model: (name) => {
      const m = this.models.get(name);
      if (!m) throw new Error(`no drafter model "${name}" is loaded`);
      return m;
    },
  };
  private state: TargetState;
  private readonly loadNotes: string[] = [];
  private upgrade: FusedUpgrade | null = null;
  private readonly listeners: ((e: FusedEvent) => void)[] = [];
  private readonly drafterJobs: RunningFusedJob[] = [];

  private constructor(
    private readonly targetDir: string,
    public target: CausalLM,
    readonly tokenizer: TokenizerWrapper,
    readonly fim: FimTemplate,
    private readonly options: EngineOptions,
    private readonly deviceOutcome: DeviceOutcome,
    public exactness: ExactnessVerdict,
  ) {
    // An inexact target's rows depend on the call grouping: reusing a cached prefix would change the prompt's grouping.
    this.state = new TargetState(target, exactness.exact);
    if (target.loadNote) this.loadNotes.push(`target: ${target.loadNote}`);
    // none, prompt-lookup, and auto, which chooses among the others (those loaded later too) by measurement (auto.ts).
    for (const spec of builtinDrafterSpecs()) this.makeDrafter(spec);
  }

  /**
   * Loads the target (and drafters) on the first device of the request's candidates that works; a device whose
   * provider fails to load the models is noted and the next one is tried, the CPU last.
   */
  static async create(options: EngineOptions): Promise<Engine> {
    // config.json first: a folder whose config is broken is named for that, not for a tokenizer file it also lacks.
    readModelConfig(options.target);
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
        const missing = options.missingVariants?.[device];
        if (missing !== undefined) throw new Error(missing);
        const load: LoadOptions = {
          threads: options.threads, variant, device, ...options.callRule, fastQuantizedKernels: options.fastQuantizedKernels, fusedOps: options.fusedOps,
          cacheDir: options.cacheDir, fusedMode: options.fusedMode, onFusedProgress: options.onFusedProgress, fusedWaitMaxBytes: options.fusedWaitMaxBytes,
        };
        const target = await CausalLM.load(options.target, load);
        const verdict = await establishExactness(target, options, device, notes);
        const outcome: DeviceOutcome = {
          // A folder's lone model.onnx is not called a variant (as before variants were chosen from folders).
          requested, used: device, variant: variant ?? (target.variant === 'fp32' && !target.variantNote ? undefined : target.variant), notes, fellBack: failed || (requested !== 'auto' && device !== requested),
          ...(target.variantNote ? { variantNote: target.variantNote } : {}),
        };
        engine = new Engine(options.target, target, tokenizer, fim, options, outcome, verdict);
        for (const d of options.drafters ?? []) await engine.addDrafter(d);
        if (target.pendingFused) {
          const e = engine;
          e.upgrade = new FusedUpgrade(target.pendingFused, options.target, load, (copy) => establishExactness(copy, options, device, []), (ev) => {
            if (ev.type === 'fused-failed') e.replaceTargetNote(ev.note);
            e.emit(ev);
          });
        }
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
    readModelConfig(dir); // as in create(): a broken config.json is reported before the tokenizer files
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
      fastQuantizedKernels: this.options.fastQuantizedKernels, fusedOps: this.options.fusedOps, cacheDir: this.options.cacheDir,
      fusedMode: this.options.fusedMode, onFusedProgress: this.options.onFusedProgress, fusedWaitMaxBytes: this.options.fusedWaitMaxBytes,
    });
    if (model.loadNote) this.loadNotes.push(`drafter ${name}: ${model.loadNote}`);
    // A drafter's copy made in the background is used from the next start (a drafter never changes the bytes, only speed).
    if (model.pendingFused) this.drafterJobs.push(runFusedJob(model.pendingFused));
    this.models.set(name, new ModelDrafter(name, model));
    for (const spec of modelDrafterSpecs(name)) this.makeDrafter(spec);
  }

  /** Makes a drafter through its kind (registry.ts) under the name requests give it. */
  private makeDrafter(spec: ParsedDrafter): void {
    const name = formatDrafterSpec(spec);
    this.drafters.set(name, makeDrafter(spec, this.drafterContext));
    if (drafterKind(spec).candidate) this.candidateNames.add(name);
  }

  /** Listens to the fused copy's progress (made in the background: EngineOptions.fusedMode 'background'). */
  onEvent(listener: (e: FusedEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(e: FusedEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Settles when the background copy is ready to swap in (or failed); at once when there is none. */
  async fusedReady(): Promise<void> {
    await this.upgrade?.ready;
  }

  /**
   * Swaps in the target's fused copy when it is ready: checked against the original's logits first (the original's
   * cache is emptied; the next prompt is fed again). Called between requests (complete() does); returns the note, or
   * null when there was nothing to swap.
   */
  async applyFusedCopy(): Promise<string | null> {
    const prepared = this.upgrade?.take();
    if (!prepared || !this.upgrade) {
      if (this.upgrade?.settled === false) return null;
      this.upgrade = null; // it failed (and said so): nothing will come
      return null;
    }
    const file = this.upgrade.job.file;
    this.upgrade = null;
    const why = await FusedUpgrade.check(prepared, this.target);
    this.state.reset();
    if (why !== null) {
      await prepared.copy.dispose();
      const note = `${file}: its fused-operator copy was dropped: ${why}`;
      this.replaceTargetNote(note);
      this.emit({ type: 'fused-failed', file, note });
      return note;
    }
    const old = this.target;
    this.target = prepared.copy;
    this.exactness = prepared.verdict;
    this.state = new TargetState(prepared.copy, prepared.verdict.exact);
    await old.dispose();
    const note = `${file}: using its fused-operator copy (made in the background: ${prepared.copy.loadedFile})`;
    this.replaceTargetNote(note);
    this.emit({ type: 'fused-applied', file, note });
    return note;
  }

  private replaceTargetNote(note: string): void {
    const i = this.loadNotes.findIndex((n) => n.startsWith('target:'));
    if (i >= 0) this.loadNotes.splice(i, 1);
    this.loadNotes.unshift(`target: ${note}`);
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
      exactness: this.exactness,
      loadNotes: [...this.loadNotes],
      models: [
        { name: 'target', variant: this.target.variant, file: this.target.file, loadedFile: this.target.loadedFile },
        ...[...this.models.values()].map((d) => ({ name: d.name, variant: d.model.variant, file: d.model.file, loadedFile: d.model.loadedFile })),
      ],
    };
  }

  /** The FIM prompt's token ids for a request (what complete() feeds the models). */
  promptFor(req: Pick<CompletionRequest, 'before' | 'after' | 'maxPromptTokens' | 'maxTokens' | 'context'>): number[] {
    return this.buildPrompt(req, this.fitContext(req).promptTokens).ids;
  }

  /** The FIM prompt, with the request's cross-file snippets in the family's repository format when it has them. */
  private buildPrompt(req: Pick<CompletionRequest, 'before' | 'after' | 'context'>, promptTokens: number): ContextPrompt {
    const c = req.context;
    return buildContextPrompt(this.tokenizer, this.fim, {
      files: c?.snippets ?? [],
      current: { path: c?.path ?? '', before: req.before, after: req.after },
      budgetTokens: c?.budgetTokens ?? 0,
      maxPromptTokens: promptTokens,
      repoName: c?.repoName,
    });
  }

  /** The maxTokens and prompt budget a request gets on this target (see contextFit.ts), and why, when capped. */
  fitContext(req: Pick<CompletionRequest, 'maxPromptTokens' | 'maxTokens'>): ContextFit {
    return fitContext(this.target.config.maxPositions, req.maxTokens, req.maxPromptTokens);
  }

  async complete(req: CompletionRequest, signal?: CancelSignal): Promise<CompletionResult> {
    if (this.upgrade?.settled) await this.applyFusedCopy();
    const asked = this.drafters.get(req.drafter);
    if (!asked) {
      throw new Error(`unknown drafter "${req.drafter}"; loaded: ${this.drafterNames().join(', ')}`);
    }
    // Drafts would change how the target's tokens are grouped into calls, and so its bits: plain decoding only.
    const draftingOff = !this.exactness.exact && req.drafter !== NO_DRAFTER;
    const drafter = draftingOff ? this.drafters.get(NO_DRAFTER)! : asked;
    // A request cancelled while it waited is not even tokenized (an 8 KB window costs milliseconds to encode).
    if (await stopRequested(signal)) return notStartedResult(req);
    const fit = this.fitContext(req);
    const prompt = this.buildPrompt(req, fit.promptTokens);
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
      ...(prompt.contextFiles.length === 0 ? {} : { contextFiles: prompt.contextFiles, contextTokens: prompt.contextTokens }),
      ...(draftingOff ? { draftingOff: true } : {}),
    };
  }

  /** Forgets the target's and drafters' caches (the next completion starts from an empty KV cache). */
  resetCaches(): void {
    this.state.reset();
    for (const d of this.drafters.values()) d.reset();
  }

  async dispose(): Promise<void> {
    await this.upgrade?.cancel();
    this.upgrade = null;
    for (const j of this.drafterJobs.splice(0)) await j.cancel();
    await this.target.dispose();
    for (const d of this.models.values()) await d.model.dispose();
  }
}

/** The target's verdict: from the cache when this (file, variant, device, threads, onnxruntime) was probed before. */
async function establishExactness(target: CausalLM, options: EngineOptions, device: Device, notes: string[]): Promise<ExactnessVerdict> {
  const fallback = { ...CALL_RULES[device], ...options.callRule };
  const candidates: readonly CandidateRule[] = options.callRule
    ? [{ id: 'forced', label: 'the forced call rule', ...fallback }]
    : CANDIDATE_RULES;
  const threads = options.threads ?? 0;
  const dir = options.cacheDir ?? lockstepCacheDir();
  const rules = candidates.map((r) => `${r.id}:${r.minTokensPerCall}/${r.tokenMultiple}/${r.align}`).join(' ');
  // Keyed on the file the session loaded: a patched q4 copy (fastQ4.ts) computes other bits than its original.
  const key = verdictKey({ file: target.loadedFile, variant: target.variant, device, threads, ortVersion: ORT_VERSION, rules });
  const cached = readVerdict(dir, key);
  if (cached) {
    target.setCallRule(candidates.find((r) => r.id === cached.rule) ?? fallback);
    return cached;
  }
  const verdict = await probeExactness(target, { variant: target.variant, device, threads, ortVersion: ORT_VERSION }, fallback, candidates);
  const problem = writeVerdict(dir, key, verdict);
  if (problem !== undefined) notes.push(problem);
  return verdict;
}
