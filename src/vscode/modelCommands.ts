/**
 * Choose Drafter… and Choose Target Model…: pick from the catalog (offering a download when a model is missing) or
 * browse for a model folder; the choice is written to the settings, whose change reloads the engine.
 */
import * as vscode from 'vscode';
import { offerDownload } from './downloadCommands';
import type { ExtensionState } from './extensionState';
import { EnginePlan, ModelEnv, checkDrafterModel, drafterChoices, resolveTarget, targetChoices } from './enginePlan';
import { DEFAULT_DRAFTER, drafterModel, parseDrafterSpec } from '../engine/decode/drafters/drafterSpec';

/** The models and plan a command needs, or undefined after telling the user why there are none. */
export function requireModels(x: ExtensionState): { env: ModelEnv; plan: EnginePlan } | undefined {
  if (!x.catalog) {
    void vscode.window.showErrorMessage(`Lockstep: the model catalog cannot be read: ${x.catalogError}`);
    return undefined;
  }
  if (!x.plan) {
    const state = x.status.state;
    void vscode.window.showErrorMessage(`Lockstep: the target model cannot be used${state.kind === 'error' ? `: ${state.message}` : ''}. Choose another with "Lockstep: Choose Target Model".`);
    return undefined;
  }
  return { env: x.env(), plan: x.plan };
}

async function browseModelFolder(openLabel: string): Promise<string | undefined> {
  const uris = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel });
  return uris?.[0]?.fsPath;
}

type ModelItem = vscode.QuickPickItem & { spec?: string; available?: boolean; browse?: boolean };

/** The spec of a picked catalog model, after a download when it is missing (undefined: the user said no). */
async function pickedSpec(x: ExtensionState, pick: ModelItem): Promise<string | undefined> {
  if (pick.available === false) {
    const entry = x.catalog!.models.find((e) => e.id === pick.spec);
    if (entry && !(await offerDownload(x, entry))) return undefined;
  }
  return pick.spec!;
}

export async function chooseDrafter(x: ExtensionState, arg?: unknown): Promise<void> {
  const m = requireModels(x);
  if (!m) return;
  let spec: string | undefined = typeof arg === 'string' ? arg : undefined;
  if (spec === undefined) {
    const items: ModelItem[] = drafterChoices(m.plan.target, m.env, x.settings.drafter).map((c) => ({
      label: `${c.spec === x.settings.drafter ? '$(check) ' : ''}${c.label}`,
      description: c.description,
      spec: c.spec,
      available: c.available,
    }));
    items.push({ label: '$(folder-opened) Browse for a model folder…', description: 'a local ONNX model with the target\'s tokenizer', browse: true });
    const pick = await vscode.window.showQuickPick(items, {
      title: `Lockstep: Choose Drafter for ${m.plan.target.label}`,
      placeHolder: 'With the gumbel and wmh couplings the drafter changes only the speed, never the text',
    });
    if (!pick) return;
    if (pick.browse) {
      const dir = await browseModelFolder('Use as drafter');
      if (!dir) return;
      const check = checkDrafterModel(dir, m.plan.target, m.env);
      if (!check.ok) {
        void vscode.window.showErrorMessage(`Lockstep: ${check.reason}`);
        return;
      }
      spec = dir;
    } else {
      spec = await pickedSpec(x, pick);
      if (spec === undefined) return;
    }
  }
  await x.updateSetting('drafter', spec);
  x.log.info(`drafter setting → ${spec}`);
}

export async function chooseTarget(x: ExtensionState, arg?: unknown): Promise<void> {
  if (!x.catalog) {
    void vscode.window.showErrorMessage(`Lockstep: the model catalog cannot be read: ${x.catalogError}`);
    return;
  }
  const env = x.env();
  let spec: string | undefined = typeof arg === 'string' ? arg : undefined;
  if (spec === undefined) {
    const items: ModelItem[] = targetChoices(env, x.settings.target).map((c) => ({
      label: `${c.spec === x.settings.target ? '$(check) ' : ''}${c.label}`,
      description: c.description,
      spec: c.spec,
      available: c.available,
    }));
    items.push({ label: '$(folder-opened) Browse for a model folder…', description: 'a local FIM code model in the Hugging Face ONNX layout', browse: true });
    const pick = await vscode.window.showQuickPick(items, { title: 'Lockstep: Choose Target Model' });
    if (!pick) return;
    spec = pick.browse ? await browseModelFolder('Use as target') : await pickedSpec(x, pick);
    if (!spec) return;
  }
  // A model drafter of another tokenizer family cannot follow the new target: go back to the automatic choice.
  try {
    const target = resolveTarget(spec, x.env());
    const d = x.settings.drafter;
    const model = drafterModel(parseDrafterSpec(d));
    if (model !== undefined) {
      if (!checkDrafterModel(model, target, x.env()).ok) {
        await x.updateSetting('drafter', DEFAULT_DRAFTER);
        x.log.info(`drafter ${d} does not suit ${target.label}: drafter setting → ${DEFAULT_DRAFTER}`);
      }
    }
  } catch {
    // the target's own error is reported when the settings are applied
  }
  await x.updateSetting('target', spec);
  x.log.info(`target setting → ${spec}`);
}
