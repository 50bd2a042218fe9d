/** The status bar's menu: every Lockstep command with its current value, and the settings. */
import * as vscode from 'vscode';
import { COMMANDS } from './commandIds';
import type { ExtensionState } from './extensionState';

export async function showMenu(x: ExtensionState): Promise<void> {
  type Item = vscode.QuickPickItem & { command?: string };
  const s = x.settings;
  const items: Item[] = [
    { label: '$(refresh) Regenerate with Seed…', description: `seed ${x.seeds.current}`, command: COMMANDS.regenerate },
    { label: '$(arrow-right) Next Seed', description: `→ ${x.seeds.current + 1}`, command: COMMANDS.nextSeed },
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
  if (!pick?.command) return;
  if (pick.command === 'workbench.action.openSettings') {
    await vscode.commands.executeCommand(pick.command, `@ext:${x.extensionId}`);
  } else {
    await vscode.commands.executeCommand(pick.command);
  }
}
