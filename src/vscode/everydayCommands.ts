/** Snooze… / Resume, and inline completions on or off for one language (the status-bar menu's everyday items). */
import * as vscode from 'vscode';
import type { ExtensionState } from './extensionState';
import { languageDisabled } from './settings';
import { SNOOZE_CHOICES, minutesFromArgument } from './snooze';

/**
 * Lockstep: Snooze… — no inline completions for a chosen time. `arg` (minutes, for keybindings and tests) skips the
 * picker. Returns the snooze label, undefined when dismissed.
 */
export async function snoozeCommand(x: ExtensionState, arg?: unknown): Promise<string | undefined> {
  let minutes = minutesFromArgument(arg);
  if (minutes === undefined) {
    type Item = vscode.QuickPickItem & { minutes: number | undefined };
    const items: Item[] = SNOOZE_CHOICES.map((c) => ({ label: c.label, minutes: c.minutes }));
    const pick = await vscode.window.showQuickPick(items, { title: 'Lockstep: Snooze Inline Completions', placeHolder: 'No inline completions for…' });
    if (!pick) return undefined;
    minutes = pick.minutes;
  }
  x.snooze.snooze(minutes);
  if (vscode.window.activeTextEditor) await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
  return x.snooze.label;
}

/** Lockstep: Resume Inline Completions — ends a snooze. */
export function resumeCommand(x: ExtensionState): void {
  x.snooze.resume();
}

/** Turns inline completions for `languageId` on or off in lockstep.disabledLanguages (where that setting is set). */
export async function toggleLanguage(x: ExtensionState, languageId: string): Promise<void> {
  const list = x.settings.disabledLanguages;
  const id = languageId.toLowerCase();
  if (languageDisabled(x.settings, languageId)) {
    if (list.includes('*') && !list.some((l) => l.toLowerCase() === id)) {
      // Off for every language ("*"): this one cannot be carved out; the setting says what to change.
      await vscode.commands.executeCommand('workbench.action.openSettings', 'lockstep.disabledLanguages');
      return;
    }
    await x.updateSetting('disabledLanguages', list.filter((l) => l.toLowerCase() !== id));
    x.log.info(`inline completions enabled for ${languageId}`);
  } else {
    await x.updateSetting('disabledLanguages', [...list, languageId]);
    x.log.info(`inline completions disabled for ${languageId}`);
  }
}
