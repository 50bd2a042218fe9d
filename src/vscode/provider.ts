/**
 * The inline completion provider, read top to bottom: the controller's snapshot (or nothing: off, paused, snoozed,
 * no model, a language the target does not write) → the window around the cursor → other files' snippets → the
 * request (request.ts) → the cache (keyed by the request: cache.ts) → debounce → engine (in its own process) →
 * record and item. A cache hit is served before the debounce: it costs nothing to show.
 */
import * as vscode from 'vscode';
import type { CompletionResult } from '../engine/process/engine';
import type { CompletionRequest, RequestContext } from '../engine/request/requests';
import { CompletionCache, cacheKey } from './cache';
import type { CompletionEngine } from './completionEngine';
import { completionLogLine, completionTitle } from './format';
import { extractWindow, lookupBefore, windowChars, type TextLines } from './prompt';
import { buildCompletionRequest } from './request';
import type { LockstepSettings } from './settings';

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

/** What a completion is made with, read from the controller once per request. */
export interface CompletionSnapshot {
  readonly settings: LockstepSettings;
  /** The session's seed. */
  readonly seed: number;
  /** The target model (it decides the text, but the request does not name it: the cache keys it beside the request). */
  readonly target: { readonly dir: string; readonly variant?: string };
  /** The drafter setting's drafter (label) and the engine's name for it. */
  readonly drafter: { readonly label: string; readonly request: string };
}

/** What the provider needs of the extension (the Controller gives it; the provider never imports the controller). */
export interface CompletionContext {
  /**
   * What a completion in a document of `languageId` is made with now, or undefined when none is to be made: disabled
   * (everywhere or for the language), paused by Verify, snoozed, no usable model, or a language the target does not
   * write (said once per language: languageNotice.ts).
   */
  snapshot(languageId: string): CompletionSnapshot | undefined;
  /** Snippets of other files for this cursor (undefined: none, or the feature is off). */
  collectContext(document: vscode.TextDocument, before: string, after: string): RequestContext | undefined;
  /** True while Verify runs (checked again after the debounce). */
  readonly paused: boolean;
  readonly engine: CompletionEngine;
  readonly log: vscode.LogOutputChannel;
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
    // While the suggest widget is open an inline completion must extend its selection; leave that moment to it.
    if (context.selectedCompletionInfo !== undefined) return undefined;
    const ctl = this.ctl;
    const snap = ctl.snapshot(document.languageId);
    if (!snap) return undefined;
    const s = snap.settings;

    const lines = linesOfDocument(document);
    const limits = windowChars(s.contextTokens);
    const win = extractWindow(lines, position, limits);
    const req = buildCompletionRequest({
      window: win, settings: s, seed: snap.seed, drafter: snap.drafter.request,
      context: ctl.collectContext(document, win.before, win.after),
    });
    const key = cacheKey(req, { target: snap.target.dir, variant: snap.target.variant, multiline: s.multiline });
    const uri = document.uri.toString();

    // The cache compares the whole window the engine would be given (plus what may have been typed along).
    const hit = this.cache.lookup(uri, key, lookupBefore(lines, position, limits, win, this.cache.lookBehind(uri)), win.after);
    if (hit) {
      ctl.log.trace(`cache hit at ${position.line + 1}:${position.character + 1}: ${hit.typed.length} characters typed, ${hit.remainder.length} left`);
      const record = this.record(uri, position, hit.remainder, hit.text, hit.meta.seed, hit.meta.drafter, req, true);
      return [this.item(hit.remainder, position, record, hit.meta.result, true)];
    }

    if (context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic && s.debounceMs > 0) {
      if (!(await sleep(s.debounceMs, token))) return undefined;
    }
    const engine = ctl.engine;
    try {
      if ((await untilCancelled(engine.ready(), token)) === undefined) return undefined;
    } catch {
      return undefined; // the engine failed to load: the status bar and the log say why
    }
    if (token.isCancellationRequested || ctl.paused) return undefined;

    const r = await this.generate(engine, req, token);
    if (r === undefined) return undefined;
    const where = `${vscode.workspace.asRelativePath(document.uri)}:${position.line + 1}:${position.character + 1}`;
    ctl.log.debug(completionLogLine(r, where, req.mode));
    if (r.cancelled) return undefined;
    this.generated++;
    ctl.completionStats(r);
    const drafterLabel = snap.drafter.label;
    this.cache.put(uri, key, win.before, win.after, r.text, { seed: r.seed, drafter: drafterLabel, result: r }, win.truncatedBefore);
    const record = this.record(uri, position, r.text, r.text, r.seed, drafterLabel, req, false, r);
    if (token.isCancellationRequested || r.text === '') return undefined;
    return [this.item(r.text, position, record, r, false)];
  }

  /** The engine's result for `req` (cancelled with the token), or undefined when it could not start or failed (logged). */
  private async generate(engine: CompletionEngine, req: CompletionRequest, token: vscode.CancellationToken): Promise<CompletionResult | undefined> {
    const ctl = this.ctl;
    let job: { id: number; result: Promise<CompletionResult> };
    try {
      job = engine.complete(req);
    } catch (e) {
      ctl.log.warn(`completion not started: ${(e as Error).message}`);
      return undefined;
    }
    const sub = token.onCancellationRequested(() => engine.cancel(job.id));
    ctl.setBusy(true);
    try {
      return await job.result;
    } catch (e) {
      ctl.log.warn(`completion failed: ${(e as Error).message}`);
      return undefined;
    } finally {
      sub.dispose();
      ctl.setBusy(false);
    }
  }

  private record(
    uri: string, position: vscode.Position, text: string, fullText: string, seed: number, drafter: string,
    req: CompletionRequest, fromCache: boolean, result?: CompletionResult,
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
      mode: req.mode,
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
