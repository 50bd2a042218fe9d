/**
 * The inline completion provider: window → mode → cache → debounce → engine (in its own process) → item.
 * Thin: the decisions live in prompt.ts, cache.ts and the controller (seen as a CompletionContext).
 */
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import type { CompletionMode, CompletionRequest, CompletionResult } from '../engine/process/engine';
import type { RequestContext } from '../engine/request/requests';
import { CompletionCache } from './cache';
import type { CompletionEngine } from './completionEngine';
import { completionLogLine, completionTitle } from './format';
import { chooseMode, extractWindow, lookupBefore, windowChars, type TextLines } from './prompt';
import type { EnginePlan } from './enginePlan';
import { languageDisabled, type LockstepSettings } from './settings';

/** What the extension remembers about a completion it offered (the test API returns it). */
export interface CompletionRecord {
  /** Increases with every completion offered (generated or from the cache). */
  sequence: number;
  uri: string;
  line: number;
  character: number;
  /** The text offered at the cursor (for a cache hit: the part not typed yet). */
  text: string;
  /** The whole completion as generated. */
  fullText: string;
  seed: number;
  /** The drafter setting's drafter (label) and the engine's name for it. */
  drafter: string;
  drafterRequest: string;
  coupling: string;
  mode: string;
  fromCache: boolean;
  /** Engine statistics of the generation (absent for a cache hit). */
  result?: CompletionResult;
  /** The other files' snippets sent with the request (absent: none); result.contextFiles says which fit the prompt. */
  context?: RequestContext;
  accepted: boolean;
}

interface CacheMeta {
  seed: number;
  drafter: string;
  coupling: string;
  result: CompletionResult;
}

/** Resolves true after `ms`, or false as soon as the token is cancelled. */
export function sleep(ms: number, token: vscode.CancellationToken): Promise<boolean> {
  if (token.isCancellationRequested) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const sub = token.onCancellationRequested(() => {
      clearTimeout(timer);
      sub.dispose();
      resolve(false);
    });
    const timer = setTimeout(() => {
      sub.dispose();
      resolve(true);
    }, ms);
  });
}

/** `p`'s value, or undefined as soon as the token is cancelled. */
function untilCancelled<T>(p: Promise<T>, token: vscode.CancellationToken): Promise<T | undefined> {
  if (token.isCancellationRequested) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const sub = token.onCancellationRequested(() => {
      sub.dispose();
      resolve(undefined);
    });
    p.then(
      (v) => {
        sub.dispose();
        resolve(v);
      },
      (e) => {
        sub.dispose();
        reject(e);
      },
    );
  });
}

function linesOfDocument(doc: vscode.TextDocument): TextLines {
  return { lineCount: doc.lineCount, lineAt: (i) => doc.lineAt(i).text };
}

/**
 * Everything besides the text around the cursor that decides a completion's bytes. The line/block mode is chosen
 * from the text around the cursor, so the multiline *setting* stands for it here: typing along a block completion
 * (which makes the cursor line non-blank) must still find it.
 */
export function fingerprint(req: CompletionRequest, targetKey: string, multiline: string): string {
  // For the invariant couplings the drafter and γ change only the speed, so they are left out: switching the
  // drafter keeps showing the same (identical) completion.
  const speedOnly = req.coupling === 'standard' ? { drafter: req.drafter, gamma: req.gamma } : {};
  // The snippets are part of the prompt: a changed snippet (an edit in another file) must not be served an old
  // completion. Their hash, not their text, keeps the key short.
  const context = req.context === undefined ? undefined : createHash('sha256').update(JSON.stringify(req.context)).digest('base64');
  return JSON.stringify({
    targetKey, seed: req.seed, coupling: req.coupling, sampling: req.sampling, maxTokens: req.maxTokens,
    multiline, maxPromptTokens: req.maxPromptTokens, context, ...speedOnly,
  });
}

/** What the provider needs of the extension (the Controller gives it; the provider never imports the controller). */
export interface CompletionContext {
  readonly settings: LockstepSettings;
  readonly plan: EnginePlan | undefined;
  readonly paused: boolean;
  /** Snoozed from the menu: no completions until it ends. */
  readonly snooze: { readonly active: boolean };
  /** Why the target does not complete a language (undefined: it does); says so once per language (languageNotice.ts). */
  readonly languages: { check(entry: EnginePlan['target']['entry'], languageId: string): string | undefined };
  readonly engine: CompletionEngine;
  readonly log: vscode.LogOutputChannel;
  request(before: string, after: string, mode: CompletionMode, context?: RequestContext): CompletionRequest;
  /** Snippets of other files for this cursor (undefined: none, or the feature is off). */
  collectContext(document: vscode.TextDocument, before: string, after: string): RequestContext | undefined;
  setBusy(on: boolean): void;
  completionStats(r: CompletionResult): void;
}

export class LockstepInlineProvider implements vscode.InlineCompletionItemProvider {
  readonly cache = new CompletionCache<CacheMeta>();
  private sequence = 0;
  private last: CompletionRecord | undefined;
  /** Completions generated by the engine (not from the cache). */
  generated = 0;

  constructor(private readonly ctl: CompletionContext) {}

  lastCompletion(): CompletionRecord | undefined {
    return this.last;
  }

  markAccepted(sequence: number): void {
    if (this.last && this.last.sequence === sequence) this.last.accepted = true;
  }

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const ctl = this.ctl;
    const s = ctl.settings;
    if (!s.enable || ctl.paused || ctl.snooze.active || languageDisabled(s, document.languageId)) return undefined;
    // While the suggest widget is open an inline completion must extend its selection; leave that moment to it.
    if (context.selectedCompletionInfo !== undefined) return undefined;
    const plan = ctl.plan;
    if (!plan) return undefined;
    // A model trained on other languages would write the wrong language here (the demo models: JS/TS only).
    if (ctl.languages.check(plan.target.entry, document.languageId) !== undefined) return undefined;

    const lines = linesOfDocument(document);
    const limits = windowChars(s.contextTokens);
    const win = extractWindow(lines, position, limits);
    const mode = chooseMode(win, s.multiline);
    const req = ctl.request(win.before, win.after, mode, ctl.collectContext(document, win.before, win.after));
    const fp = fingerprint(req, plan.target.dir + (plan.target.variant ?? ''), s.multiline);
    const uri = document.uri.toString();

    // The cache compares the whole window the engine would be given (plus what may have been typed along).
    const hit = this.cache.lookup(uri, fp, lookupBefore(lines, position, limits, win, this.cache.lookBehind(uri)), win.after);
    if (hit) {
      ctl.log.trace(`cache hit at ${position.line + 1}:${position.character + 1}: ${hit.typed.length} characters typed, ${hit.remainder.length} left`);
      const record = this.record(uri, position, hit.remainder, hit.text, hit.meta.seed, hit.meta.drafter, req, mode, true);
      return [this.item(hit.remainder, position, record, hit.meta.result, true)];
    }

    if (context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic && s.debounceMs > 0) {
      if (!(await sleep(s.debounceMs, token))) return undefined;
    }
    try {
      if ((await untilCancelled(ctl.engine.ready(), token)) === undefined) return undefined;
    } catch {
      return undefined; // the engine failed to load: the status bar and the log say why
    }
    if (token.isCancellationRequested || ctl.paused) return undefined;

    let job: { id: number; result: Promise<CompletionResult> };
    try {
      job = ctl.engine.complete(req);
    } catch (e) {
      ctl.log.warn(`completion not started: ${(e as Error).message}`);
      return undefined;
    }
    const sub = token.onCancellationRequested(() => ctl.engine.cancel(job.id));
    ctl.setBusy(true);
    let r: CompletionResult;
    try {
      r = await job.result;
    } catch (e) {
      ctl.log.warn(`completion failed: ${(e as Error).message}`);
      return undefined;
    } finally {
      sub.dispose();
      ctl.setBusy(false);
    }
    const where = `${vscode.workspace.asRelativePath(document.uri)}:${position.line + 1}:${position.character + 1}`;
    ctl.log.debug(completionLogLine(r, where, mode));
    if (r.cancelled) return undefined;
    this.generated++;
    ctl.completionStats(r);
    const drafterLabel = plan.drafter.label;
    this.cache.put(uri, fp, win.before, win.after, r.text, { seed: r.seed, drafter: drafterLabel, coupling: r.coupling, result: r }, win.truncatedBefore);
    const record = this.record(uri, position, r.text, r.text, r.seed, drafterLabel, req, mode, false, r);
    if (token.isCancellationRequested || r.text === '') return undefined;
    return [this.item(r.text, position, record, r, false)];
  }

  private record(
    uri: string, position: vscode.Position, text: string, fullText: string, seed: number, drafter: string,
    req: CompletionRequest, mode: string, fromCache: boolean, result?: CompletionResult,
  ): CompletionRecord {
    this.last = {
      sequence: ++this.sequence,
      uri,
      line: position.line,
      character: position.character,
      text,
      fullText,
      seed,
      drafter,
      drafterRequest: req.drafter,
      coupling: req.coupling,
      mode,
      fromCache,
      result,
      ...(req.context === undefined ? {} : { context: req.context }),
      accepted: false,
    };
    return this.last;
  }

  private item(text: string, position: vscode.Position, record: CompletionRecord, r: CompletionResult, fromCache: boolean): vscode.InlineCompletionItem {
    const title = completionTitle({ seed: record.seed, drafter: record.drafter, coupling: record.coupling, tokens: r.tokens, tokensPerSecond: r.tokensPerSecond }, fromCache);
    return new vscode.InlineCompletionItem(text, new vscode.Range(position, position), {
      command: 'lockstep.completionAccepted',
      title,
      tooltip: title,
      arguments: [record.sequence, record.seed],
    });
  }
}
