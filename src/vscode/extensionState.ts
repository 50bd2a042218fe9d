/**
 * What the command modules (seedCommands, modelCommands, downloadCommands, verifyCommand, menu) need of the
 * extension's state; the Controller provides it. They depend on this interface, never on the controller itself.
 */
import type * as vscode from 'vscode';
import type { DrafterSpec } from '../engine/process/engine';
import type { RequestContext } from '../engine/request/requests';
import type { Catalog } from '../models/catalog';
import type { DownloadFn } from './download';
import type { CompletionEngine } from './completionEngine';
import type { EnginePlan, ModelEnv } from './enginePlan';
import type { SeedState } from './seed';
import type { SnoozeState } from './snooze';
import type { LockstepSettings } from './settings';
import type { StatusBar } from './statusBar';

export interface ExtensionState {
  readonly log: vscode.LogOutputChannel;
  /** The local engine, or the server's while `lockstep.server.url` is set. */
  readonly engine: CompletionEngine;
  readonly status: StatusBar;
  readonly settings: LockstepSettings;
  readonly plan: EnginePlan | undefined;
  readonly catalog: Catalog | undefined;
  readonly catalogError: string | undefined;
  readonly seeds: SeedState;
  /** Snooze: no inline completions until a time (the menu's Snooze… / Resume). */
  readonly snooze: SnoozeState;
  readonly download: DownloadFn;
  /** The extension's id (for "open settings" filters). */
  readonly extensionId: string;
  /** True while Verify runs: inline completions wait (Verify's requests must not be superseded). */
  paused: boolean;
  env(): ModelEnv;
  /** Settings → plan → engine; false when no usable plan (the status bar and a message say why). */
  applyPlan(extraDrafters?: DrafterSpec[]): boolean;
  /** Cross-file snippets for a cursor, as a completion there would send them. */
  collectContext(document: vscode.TextDocument, before: string, after: string): RequestContext | undefined;
  /** Writes a lockstep.* setting where it is set now (workspace folder, workspace, else user). */
  updateSetting(key: string, value: unknown): Promise<void>;
}
