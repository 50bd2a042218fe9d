/**
 * The status bar item: what the engine is doing (loading, ready on a device, downloading, error), whether a
 * generation runs, and the last completion's figures; the text and tooltip come from format.ts.
 */
import * as vscode from 'vscode';
import type { DeviceOutcome } from '../engine/runtime/device';
import type { ExactnessVerdict } from '../engine/runtime/exactness';
import type { CompletionResult } from '../engine/process/engine';
import { COMMANDS } from './commandIds';
import type { EngineState } from '../engine/process/engineState';
import { LastCompletionStats, StatusInfo, statusBarText, statusTooltip } from './format';

/** The part of the status the controller owns (settings, models, seed). */
export type StatusContext = Omit<StatusInfo, 'state' | 'last' | 'busy' | 'device' | 'exactness'>;

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  state: EngineState = { kind: 'loading', target: '' };
  /** Where the loaded engine runs (undefined while none is loaded). */
  device: DeviceOutcome | undefined;
  /** The loaded target's exactness verdict (undefined while none is loaded). */
  exactness: ExactnessVerdict | undefined;
  private busy = 0;
  private last: LastCompletionStats | undefined;

  constructor(private readonly context: () => StatusContext) {
    this.item = vscode.window.createStatusBarItem('lockstep.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Lockstep';
    this.item.command = COMMANDS.menu;
  }

  show(): void {
    this.item.show();
  }

  setState(s: EngineState): void {
    this.state = s;
    this.update();
  }

  setBusy(on: boolean): void {
    this.busy = Math.max(0, this.busy + (on ? 1 : -1));
    this.update();
  }

  completed(r: CompletionResult): void {
    this.last = { tokens: r.tokens, tokensPerSecond: r.tokensPerSecond, drafted: r.drafted, accepted: r.accepted, acceptance: r.acceptance };
    this.update();
  }

  update(): void {
    const info: StatusInfo = { ...this.context(), state: this.state, last: this.last, busy: this.busy > 0, device: this.device, exactness: this.exactness };
    this.item.text = statusBarText(info);
    this.item.tooltip = statusTooltip(info);
    this.item.backgroundColor = info.state.kind === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
