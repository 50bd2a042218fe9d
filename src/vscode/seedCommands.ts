/** Regenerate with Seed…, Next Seed and Previous Seed: choose the session's seed, then ask the editor for a fresh suggestion. */
import * as vscode from 'vscode';
import type { ExtensionState } from './extensionState';
import { parseSeed, randomSeed, seedFromArgument } from './seed';

async function retrigger(): Promise<void> {
  if (!vscode.window.activeTextEditor) return;
  await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
  await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
}

/** Asks which seed (a fresh one, one typed in, the current one) unless `arg` names it; undefined when dismissed. */
async function askSeed(x: ExtensionState): Promise<number | undefined> {
  const fresh = randomSeed();
  const current = x.seeds.current;
  type Item = vscode.QuickPickItem & { seed?: number; enter?: boolean };
  const items: Item[] = [
    { label: `$(refresh) Random seed ${fresh}`, description: 'a fresh seed', seed: fresh },
    { label: '$(edit) Enter a seed…', description: 'reproduce a completion', enter: true },
    { label: `$(history) Current seed ${current}`, description: x.seeds.overridden ? 'chosen this session' : 'from the lockstep.seed setting', seed: current },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'Lockstep: Regenerate with Seed', placeHolder: 'The same seed always gives the same completion, whatever the drafter' });
  if (!pick) return undefined;
  if (!pick.enter) return pick.seed!;
  const text = await vscode.window.showInputBox({
    title: 'Lockstep: Regenerate with Seed',
    prompt: 'Seed (an integer from 0 to 9007199254740991)',
    value: String(current),
    validateInput: (v) => {
      const p = parseSeed(v);
      return p.ok ? undefined : p.message;
    },
  });
  if (text === undefined) return undefined;
  const p = parseSeed(text);
  return p.ok ? p.seed : undefined;
}

export async function regenerateWithSeed(x: ExtensionState, arg?: unknown): Promise<number | undefined> {
  const seed = seedFromArgument(arg) ?? (await askSeed(x));
  if (seed === undefined) return undefined;
  x.seeds.set(seed);
  x.log.info(`seed ${seed} (Regenerate with Seed)`);
  x.status.update();
  await retrigger();
  return seed;
}

export async function nextSeed(x: ExtensionState): Promise<number> {
  const seed = x.seeds.next();
  x.log.info(`seed ${seed} (Next Seed)`);
  x.status.update();
  await retrigger();
  return seed;
}

/** The seed before the current one: its completion, when it was shown before, comes back from the cache. */
export async function previousSeed(x: ExtensionState): Promise<number> {
  const seed = x.seeds.previous();
  x.log.info(`seed ${seed} (Previous Seed)`);
  x.status.update();
  await retrigger();
  return seed;
}
