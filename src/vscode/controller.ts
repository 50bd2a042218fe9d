/**
 * The extension's state: settings → engine plan → EngineHost; the seed; the status bar; the log; notices shown once.
 * start() registers the inline provider and the commands, which live in their own modules (seedCommands,
 * modelCommands, downloadCommands, verifyCommand, menu) and see the controller only as an ExtensionState.
 * Decisions are made by the pure modules (settings, models, seed, verify, format, download).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { fitContext } from '../engine/prompt/contextFit';
import { couplingSpec } from '../engine/decode/couplings/registry';
import type { DeviceOutcome } from '../engine/runtime/device';
import type { EngineState } from '../engine/process/engineState';
import type { CompletionResult, DrafterSpec, EngineInfo } from '../engine/process/engine';
import type { RequestContext } from '../engine/request/requests';
import type { Catalog } from '../models/catalog';
import { defaultModelsDir } from '../models/hubCache';
import type { LockstepApi } from './api';
import { makeApi } from './extensionApi';
import { COMMANDS } from './commandIds';
import { ContextCollector } from './context';
import { deviceNotice, exactnessNotice } from './deviceNotice';
import { loadEditorCatalog } from './editorCatalog';
import type { DownloadFn } from './download';
import { downloadModels } from './downloadCommands';
import { EngineHost } from '../engine/process/engineHost';
import type { CompletionEngine } from './completionEngine';
import { EngineSwitch } from './engineSwitch';
import { resumeCommand, snoozeCommand } from './everydayCommands';
import type { ExtensionState } from './extensionState';
import { modelStatus } from './format';
import { FirstRun } from './firstRun';
import { LanguageNotices } from './languageNotice';
import { showMenu } from './menu';
import { chooseDrafter, chooseTarget } from './modelCommands';
import { EnginePlan, ModelEnv, expandHome, planEngine } from './enginePlan';
import { LockstepInlineProvider, type CompletionSnapshot } from './provider';
import { SeedState } from './seed';
import { nextSeed, previousSeed, regenerateWithSeed } from './seedCommands';
import { TOKEN_SECRET, registerServerCommands } from './serverCommands';
import { LockstepSettings, SECTION, SettingsReader, languageDisabled } from './settings';
import { setupModel } from './setupModel';
import { SnoozeState } from './snooze';
import { StatusBar, type StatusContext } from './statusBar';
import { tryCompletion } from './tryCompletion';
import { verifyCommand } from './verifyCommand';


export class Controller implements vscode.Disposable, ExtensionState {
  readonly log: vscode.LogOutputChannel;
  /** The local engine, or the server's while `lockstep.server.url` is set. */
  private readonly engines: EngineSwitch;
  readonly status: StatusBar;
  readonly provider: LockstepInlineProvider;
  readonly seeds: SeedState;
  readonly snooze: SnoozeState;
  readonly languages: LanguageNotices;
  private readonly firstRun: FirstRun;
  settings: LockstepSettings;
  plan: EnginePlan | undefined;
  catalog: Catalog | undefined;
  catalogError: string | undefined;
  /** True while Verify runs: inline completions wait (Verify's requests must not be superseded). */
  paused = false;

  private readonly reader = new SettingsReader();
  private readonly contextCollector = new ContextCollector();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly shownNotes = new Set<string>();
  private providerRegistration: vscode.Disposable | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly download: DownloadFn,
  ) {
    this.log = vscode.window.createOutputChannel('Lockstep', { log: true });
    this.snooze = new SnoozeState((on) => {
      this.log.info(on ? `inline completions ${this.snooze.label}` : 'inline completions resumed');
      this.status.update();
    });
    this.languages = new LanguageNotices(context.globalState, (m) => this.log.info(m));
    this.firstRun = new FirstRun(context.globalState, {
      inform: (message, ...buttons) => vscode.window.showInformationMessage(message, ...buttons),
      command: (id, ...args) => vscode.commands.executeCommand(id, ...args),
    }, context.extension.id, (m) => this.log.info(m));
    this.status = new StatusBar(() => this.statusContext());
    const onState = (s: EngineState): void => {
      this.status.state = s;
      if (s.kind === 'ready') this.deviceReady(s.device);
      else if (s.kind !== 'downloading') this.status.device = undefined;
      this.status.update();
    };
    const onNotice = (message: string): void => this.engineNotice(message);
    const clearCache = (): void => this.provider.cache.clear();
    this.engines = new EngineSwitch(() => new EngineHost(this.log, onState, { onNotice, onModelSwapped: clearCache }), {
      token: () => this.context.secrets?.get(TOKEN_SECRET) ?? Promise.resolve(undefined), log: this.log, onState, onNotice, onTargetChanged: clearCache,
    }, clearCache);
    this.provider = new LockstepInlineProvider(this);
    this.settings = this.readSettings();
    this.seeds = new SeedState(this.settings.seed);
  }

  /** What completes: the server when `lockstep.server.url` is set, else the local engine. */
  get engine(): CompletionEngine {
    return this.engines.current;
  }

  get extensionId(): string {
    return this.context.extension.id;
  }

  /** Registers the provider, the commands and the listeners; loads the engine. */
  start(): LockstepApi {
    const version = (this.context.extension.packageJSON as { version?: string }).version ?? '?';
    this.log.info(`Lockstep ${version} starting (VS Code ${vscode.version}, Node ${process.versions.node}, ${process.platform}-${process.arch})`);
    this.loadCatalog();
    this.providerRegistration = vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, this.provider);
    const reg = (id: string, f: (...args: unknown[]) => unknown): void => {
      this.disposables.push(vscode.commands.registerCommand(id, f));
    };
    reg(COMMANDS.regenerate, (arg) => regenerateWithSeed(this, arg));
    reg(COMMANDS.nextSeed, () => nextSeed(this));
    reg(COMMANDS.previousSeed, () => previousSeed(this));
    reg(COMMANDS.snooze, (minutes) => snoozeCommand(this, minutes));
    reg(COMMANDS.resume, () => resumeCommand(this));
    reg(COMMANDS.chooseDrafter, (arg) => chooseDrafter(this, arg));
    reg(COMMANDS.chooseTarget, (arg) => chooseTarget(this, arg));
    reg(COMMANDS.verify, () => verifyCommand(this));
    reg(COMMANDS.download, (arg) => downloadModels(this, arg));
    reg(COMMANDS.setupModel, (arg) => setupModel(this, arg));
    reg(COMMANDS.tryCompletion, () => tryCompletion(this));
    reg(COMMANDS.showLog, () => this.log.show());
    reg(COMMANDS.menu, () => showMenu(this));
    reg(COMMANDS.toggle, () => this.updateSetting('enable', !this.settings.enable));
    reg(COMMANDS.restart, () => this.restartEngine());
    this.disposables.push(...registerServerCommands(this.context.secrets, { log: this.log, tokenChanged: () => this.engines.tokenChanged() }));
    reg(COMMANDS.accepted, (seq, seed) => {
      if (typeof seq === 'number') this.provider.markAccepted(seq);
      this.log.debug(`completion accepted (seed ${String(seed)})`);
    });
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SECTION)) this.onSettingsChanged();
      }),
      vscode.workspace.onDidCloseTextDocument((d) => this.provider.cache.clear(d.uri.toString())),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.onSettingsChanged()),
      vscode.window.onDidChangeActiveTextEditor(() => this.status.update()),
    );
    this.status.show();
    this.applyPlan();
    this.firstRun.onActivation(this.plan?.target.entry);
    return makeApi(this, this.provider, () => this.reader.history());
  }

  private loadCatalog(): void {
    this.catalog = loadEditorCatalog(this.settings.extraCatalog, this.env().baseDir, this.log);
    this.catalogError = this.catalog.error;
  }

  dispose(): void {
    this.providerRegistration?.dispose();
    this.contextCollector.dispose();
    for (const d of this.disposables) d.dispose();
    this.status.dispose();
    this.snooze.dispose();
    void this.engines.dispose();
    this.log.dispose();
  }

  /** Stopping the engine process before the extension host goes away. */
  async shutdown(): Promise<void> {
    await this.engines.dispose();
  }

  // ------------------------------------------------------------------ settings and engine

  private readSettings(): LockstepSettings {
    const cfg = vscode.workspace.getConfiguration(SECTION);
    const { settings, warnings } = this.reader.read((key) => cfg.get(key));
    for (const w of warnings) {
      this.log.warn(w);
      void vscode.window.showWarningMessage(w, 'Open Settings').then((a) => {
        if (a) void vscode.commands.executeCommand('workbench.action.openSettings', `@ext:${this.context.extension.id}`);
      });
    }
    return settings;
  }

  private onSettingsChanged(): void {
    const before = this.settings;
    this.settings = this.readSettings();
    this.seeds.updateSetting(this.settings.seed);
    if (before.extraCatalog !== this.settings.extraCatalog) this.loadCatalog();
    if (before.enable !== this.settings.enable) this.log.info(`inline completions ${this.settings.enable ? 'enabled' : 'disabled'}`);
    this.applyPlan();
  }

  env(): ModelEnv {
    const baseDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir();
    const cacheDir = this.settings.modelsDir === '' ? defaultModelsDir() : path.resolve(baseDir, expandHome(this.settings.modelsDir));
    return { catalog: this.catalog!, cacheDir, baseDir };
  }

  private note(message: string, level: 'info' | 'warn'): void {
    if (this.shownNotes.has(message)) return;
    this.shownNotes.add(message);
    if (level === 'warn') {
      this.log.warn(message);
      void vscode.window.showWarningMessage(`Lockstep: ${message}`);
    } else {
      this.log.info(message);
    }
  }

  /**
   * An engine finished loading on `outcome`'s device (EngineHost has logged it). When the device asked for could not
   * be used, one warning says which device runs and why (deviceNotice decides); the same warning is not repeated in
   * this session, e.g. when a drafter change reloads the engine on the same fallback.
   */
  private deviceReady(outcome: DeviceOutcome | undefined): void {
    this.status.device = outcome;
    void this.engine.ready().then((info) => {
      this.noteContextFit(info.maxPositions);
      this.exactnessReady(info);
    }, () => undefined);
    const notice = outcome === undefined ? undefined : deviceNotice(outcome);
    if (notice === undefined || this.shownNotes.has(notice)) return;
    this.shownNotes.add(notice);
    this.log.warn(notice);
    void vscode.window.showWarningMessage(notice, 'Device Setting', 'Show Log').then((a) => {
      if (a === 'Device Setting') void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.device`);
      if (a === 'Show Log') this.log.show();
    });
  }

  /**
   * The target's exactness verdict: in the status tooltip always; when it is not exact (drafting off), one warning per
   * session and verdict, with the log (EngineHost logged the verdict with the load).
   */
  private exactnessReady(info: EngineInfo): void {
    this.status.exactness = info.exactness;
    this.status.update();
    const notice = exactnessNotice(info.exactness, this.plan?.target.label ?? info.target);
    if (notice === undefined || this.shownNotes.has(notice)) return;
    this.shownNotes.add(notice);
    this.log.warn(notice);
    void vscode.window.showWarningMessage(notice, 'Show Log').then((a) => {
      if (a === 'Show Log') this.log.show();
    });
  }

  /** The engine host's word about a failure (a crash, a hang, a restart, giving up): once per text, with the log. */
  private engineNotice(message: string): void {
    const text = `Lockstep: ${message}`;
    if (this.shownNotes.has(text)) return;
    this.shownNotes.add(text);
    void vscode.window.showWarningMessage(text, 'Show Log').then((a) => {
      if (a === 'Show Log') this.log.show();
    });
  }

  /** Lockstep: Restart Engine — a fresh engine process with the current settings, failures forgotten. */
  private restartEngine(): void {
    this.log.info('restarting the engine (command)');
    if (!this.engines.restart()) this.applyPlan();
  }

  /**
   * Warns (once per message) when lockstep.maxTokens does not fit the target's context next to a prompt: the engine
   * caps it (contextFit.ts) and each completion's result says so too (completionStats), so a change of the setting
   * while the engine runs is caught at the next completion.
   */
  private noteContextFit(maxPositions: number): void {
    const fit = fitContext(maxPositions, this.settings.maxTokens, this.settings.contextTokens);
    if (fit.message !== undefined) this.note(fit.message, 'warn');
  }

  /** Settings → plan → engine (restarted only when the models or execution options changed). */
  applyPlan(extraDrafters: DrafterSpec[] = []): boolean {
    if (this.settings.serverUrl !== '') {
      this.plan = this.engines.useServer(this.settings.serverUrl, this.settings);
      this.status.update();
      return true;
    }
    this.engines.useLocal();
    if (!this.catalog) {
      this.status.setState({ kind: 'error', message: `the model catalog cannot be read: ${this.catalogError}` });
      return false;
    }
    let plan: EnginePlan;
    try {
      plan = planEngine(this.settings, this.env(), extraDrafters);
    } catch (e) {
      const message = (e as Error).message;
      this.plan = undefined;
      this.status.setState({ kind: 'error', message });
      if (!this.shownNotes.has(message)) {
        this.shownNotes.add(message);
        this.log.error(`target model: ${message}`);
        void vscode.window.showErrorMessage(`Lockstep: ${message}`, 'Choose Target Model', 'Download Models').then((a) => {
          if (a === 'Choose Target Model') void vscode.commands.executeCommand(COMMANDS.chooseTarget);
          if (a === 'Download Models') void vscode.commands.executeCommand(COMMANDS.download);
        });
      }
      return false;
    }
    this.plan = plan;
    for (const n of plan.notes) this.note(n, 'warn');
    if (plan.drafter.detail !== undefined) this.note(plan.drafter.detail, 'info');
    const coupling = couplingSpec(this.settings.coupling);
    if (!coupling.invariant) {
      this.note(`coupling "${coupling.id}" (${coupling.title}) is NOT drafter-invariant: the text depends on the drafter`, 'warn');
    }
    if (this.settings.enable || extraDrafters.length > 0) {
      this.engines.host.configure(plan.options, plan.target.label);
    }
    this.status.update();
    return true;
  }

  setBusy(on: boolean): void {
    this.status.setBusy(on);
  }

  completionStats(r: CompletionResult): void {
    if (r.text !== '') this.firstRun.onCompletion(this.plan?.target.entry);
    if (r.contextNote !== undefined) this.note(r.contextNote, 'warn');
    this.status.completed(r);
  }

  /** The controller's part of the status bar (StatusBar adds the engine's). */
  private statusContext(): StatusContext {
    return {
      enabled: this.settings.enable,
      target: this.plan?.target.label ?? this.settings.target,
      drafter: this.plan?.drafter.label ?? this.settings.drafter,
      seed: this.seeds.current,
      seedOverridden: this.seeds.overridden,
      coupling: this.settings.coupling,
      snoozed: this.snooze.label,
      ...modelStatus(this.plan?.target.entry, vscode.window.activeTextEditor?.document.languageId),
    };
  }

  /** What an inline completion in a `languageId` document is made with now; undefined when none is (provider.ts). */
  snapshot(languageId: string): CompletionSnapshot | undefined {
    const s = this.settings;
    if (!s.enable || this.paused || this.snooze.active || languageDisabled(s, languageId)) return undefined;
    const plan = this.plan;
    if (!plan) return undefined;
    // A model trained on other languages would write the wrong language here (the demo models: JS/TS only).
    if (this.languages.check(plan.target.entry, languageId) !== undefined) return undefined;
    return { settings: s, seed: this.seeds.current, target: plan.target, drafter: plan.drafter };
  }

  /** Cross-file snippets (context.ts); a failure there costs the context only, never the completion. */
  collectContext(document: vscode.TextDocument, before: string, after: string): RequestContext | undefined {
    try {
      return this.contextCollector.collect(document, before, after, this.settings);
    } catch (e) {
      this.note(`cross-file context left out: ${(e as Error).message}`, 'info');
      return undefined;
    }
  }

  private configTarget(key: string): vscode.ConfigurationTarget {
    const i = vscode.workspace.getConfiguration(SECTION).inspect(key);
    if (i?.workspaceFolderValue !== undefined) return vscode.ConfigurationTarget.WorkspaceFolder;
    if (i?.workspaceValue !== undefined) return vscode.ConfigurationTarget.Workspace;
    return vscode.ConfigurationTarget.Global;
  }

  async updateSetting(key: string, value: unknown): Promise<void> {
    await vscode.workspace.getConfiguration(SECTION).update(key, value, this.configTarget(key));
  }
}
