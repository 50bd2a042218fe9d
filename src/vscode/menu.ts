/** The status bar's menu: every Lockstep command with its current value, snooze, this language on/off, the settings. */
import * as vscode from 'vscode';
import { isDemoModel, languageMismatch } from '../models/modelNotices';
import { COMMANDS } from './commandIds';
import { toggleLanguage } from './everydayCommands';
import type { ExtensionState } from './extensionState';
import { SETUP_MODEL_COMMAND } from './languageNotice';
import { languageDisabled } from './settings';

type Item = vscode.QuickPickItem & { command?: string; run?: () => Promise<unknown> };

/** The everyday items: set up a real model (demo target), snooze or resume, this language on or off. */
function everydayItems(x: ExtensionState): Item[] {
  const items: Item[] = [];
  const entry = x.plan?.target.entry;
  if (isDemoModel(entry)) {
    items.push({ label: '$(sparkle) Set Up a Model…', description: `${entry!.id} is a demo: get Qwen2.5-Coder`, command: SETUP_MODEL_COMMAND });
  }
  const snoozed = x.snooze.label;
  items.push(snoozed === undefined
    ? { label: '$(bell-slash) Snooze…', description: 'no inline completions for a while', command: COMMANDS.snooze }
    : { label: '$(bell) Resume', description: snoozed, command: COMMANDS.resume });
  const languageId = vscode.window.activeTextEditor?.document.languageId;
  if (languageId !== undefined) {
    const off = languageDisabled(x.settings, languageId);
    const mismatch = languageMismatch(entry, languageId) === undefined ? undefined : `${entry!.id} is not trained on it`;
    items.push({
      label: off ? `$(check) Enable for ${languageId}` : `$(circle-slash) Disable for ${languageId}`,
      description: mismatch ?? (off ? 'lockstep.disabledLanguages lists it' : 'adds it to lockstep.disabledLanguages'),
      run: () => toggleLanguage(x, languageId),
    });
  }
  return items;
}

export async function showMenu(x: ExtensionState): Promise<void> {
  const s = x.settings;
  const items: Item[] = [
    ...everydayItems(x),
    { label: '$(arrow-right) Next Suggestion (Next Seed)', description: `seed → ${x.seeds.current + 1}  (Alt+] with a suggestion shown)`, command: COMMANDS.nextSeed },
    { label: '$(arrow-left) Previous Suggestion (Previous Seed)', description: 'Alt+[ with a suggestion shown', command: COMMANDS.previousSeed },
    { label: '$(refresh) Regenerate with Seed…', description: `seed ${x.seeds.current}`, command: COMMANDS.regenerate },
    { label: '$(rocket) Choose Drafter…', description: x.plan?.drafter.label ?? s.drafter, command: COMMANDS.chooseDrafter },
    { label: '$(symbol-class) Choose Target Model…', description: x.plan?.target.label ?? s.target, command: COMMANDS.chooseTarget },
    { label: '$(verified) Verify Drafter Invariance', description: 'every drafter × gumbel, wmh at the cursor', command: COMMANDS.verify },
    { label: '$(cloud-download) Download Models…', command: COMMANDS.download },
    { label: '$(output) Show Log', command: COMMANDS.showLog },
    { label: '$(debug-restart) Restart Engine', command: COMMANDS.restart },
    { label: s.enable ? '$(circle-slash) Disable Inline Completions' : '$(check) Enable Inline Completions', command: COMMANDS.toggle },
    { label: '$(gear) Settings', command: 'workbench.action.openSettings' },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'Lockstep' });
  if (!pick) return;
  if (pick.run) {
    await pick.run();
  } else if (pick.command === 'workbench.action.openSettings') {
    await vscode.commands.executeCommand(pick.command, `@ext:${x.extensionId}`);
  } else if (pick.command) {
    await vscode.commands.executeCommand(pick.command);
  }
}
