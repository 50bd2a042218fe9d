/**
 * Lockstep: Set Up a Model — the first-run path from the demo to a real model, in one command (the walkthrough's
 * main step, the demo notices' button):
 *   machine (hardware.ts) → recommendation (models/recommend.ts) → pick (recommended first, with the reason) →
 *   download with progress and cancel → target (and drafter) settings → the engine loads it and probes exactness,
 *   with progress → the first completion in a sample document (tryCompletion.ts).
 */
import * as vscode from 'vscode';
import type { CatalogEntry } from '../models/catalog';
import { entryStatus } from '../models/catalog';
import { type Candidate, type Hardware, describeHardware, recommendSetup } from '../models/recommend';
import { formatBytes } from './download';
import { runDownloads } from './downloadCommands';
import type { ExtensionState } from './extensionState';
import { detectHardware } from './hardware';
import { tryCompletion } from './tryCompletion';

export interface SetupOutcome {
  /** The target now in use (undefined: the user stopped, or a step failed). */
  target?: string;
  /** Why it stopped short: 'cancelled', 'no-fit', 'download', 'load'. */
  stopped?: 'cancelled' | 'no-fit' | 'download' | 'load';
  message?: string;
}

/** The machine as the setup sees it; the device the engine already runs on wins over the guess. */
export function setupHardware(x: ExtensionState): Hardware {
  const hw = detectHardware(x.env().cacheDir, x.settings.device);
  const used = x.status.device?.used;
  return used === undefined ? hw : { ...hw, device: used };
}

type Item = vscode.QuickPickItem & { candidate: Candidate };

function item(x: ExtensionState, c: Candidate, recommended: boolean, reason: string): Item {
  const downloaded = entryStatus(x.catalog!, c.entry, { cacheDir: x.env().cacheDir }).available;
  const parts = [c.variant, c.bytes === undefined ? undefined : `about ${formatBytes(c.bytes)}`, downloaded ? 'downloaded' : undefined];
  return {
    label: `${recommended ? '$(star-full) ' : ''}${c.entry.id}`,
    description: parts.filter((p) => p !== undefined).join(' · '),
    detail: recommended ? `Recommended — ${reason}` : c.unfit !== undefined ? `Not recommended here: ${c.unfit}` : c.entry.name,
    candidate: c,
  };
}

/** `arg`: a catalog id to set up without the picker (other extensions, tests). */
export async function setupModel(x: ExtensionState, arg?: unknown): Promise<SetupOutcome> {
  if (!x.catalog) {
    const message = `the model catalog cannot be read: ${x.catalogError}`;
    void vscode.window.showErrorMessage(`Lockstep: ${message}`);
    return { stopped: 'no-fit', message };
  }
  const hw = setupHardware(x);
  const rec = recommendSetup(x.catalog.models, hw);
  x.log.info(`set up a model: ${rec.reason}`);
  if (rec.candidates.length === 0) {
    void vscode.window.showErrorMessage(`Lockstep: ${rec.reason}.`);
    return { stopped: 'no-fit', message: rec.reason };
  }
  let pick: Candidate | undefined;
  if (typeof arg === 'string') {
    pick = rec.candidates.find((c) => c.entry.id === arg);
    if (pick === undefined) {
      const message = `"${arg}" is not a downloadable target in the catalog`;
      void vscode.window.showErrorMessage(`Lockstep: ${message}.`);
      return { stopped: 'no-fit', message };
    }
  } else {
    const items = rec.candidates.map((c) => item(x, c, c === rec.best, rec.reason));
    const chosen = await vscode.window.showQuickPick(items, {
      title: 'Lockstep: Set Up a Model',
      placeHolder: `This machine: ${describeHardware(hw)}. Pick a model to download and use.`,
      matchOnDescription: true,
    });
    if (chosen === undefined) return { stopped: 'cancelled' };
    pick = chosen.candidate;
  }
  return install(x, pick, pick === rec.best ? rec.drafter : undefined);
}

/** Download → settings → load and probe → first completion. */
async function install(x: ExtensionState, target: Candidate, drafter: Candidate | undefined): Promise<SetupOutcome> {
  const wanted = [target, ...(drafter === undefined ? [] : [drafter])];
  const cacheDir = x.env().cacheDir;
  const missing = wanted.filter((c) => !entryStatus(x.catalog!, c.entry, { cacheDir, variant: c.variant }).available);
  if (missing.length > 0) {
    const variants = new Map<CatalogEntry, string | undefined>(wanted.map((c) => [c.entry, c.variant]));
    const outcomes = await runDownloads(x, missing.map((c) => c.entry), (e) => variants.get(e));
    const bad = outcomes.find((o) => !o.ok);
    if (bad !== undefined) {
      // runDownloads has said why (failed) or logged it (cancelled); a later setup resumes the download.
      return { stopped: bad.cancelled ? 'cancelled' : 'download', message: bad.error };
    }
  }
  const id = target.entry.id;
  if (x.settings.targetVariant !== '' && x.settings.targetVariant !== target.variant) await x.updateSetting('targetVariant', '');
  // Drafter first: a model drafter of the demo's vocabulary could not follow the new target (one warning fewer).
  if (x.settings.drafter !== 'auto') await x.updateSetting('drafter', 'auto');
  await x.updateSetting('target', id);
  x.log.info(`set up a model: target setting → ${id}${drafter === undefined ? '' : ` (drafter model ${drafter.entry.id} downloaded for auto)`}`);
  try {
    const info = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Lockstep: loading ${id}`, cancellable: false },
      async (progress) => {
        progress.report({ message: 'starting the engine…' });
        await waitFor(() => {
          if (x.plan?.target.label === id) return true;
          const st = x.status.state;
          if (x.settings.target === id && st.kind === 'error') throw new Error(st.message);
          return false;
        }, 30_000);
        progress.report({ message: 'loading the model and checking that its logits are exact under any call grouping…' });
        return x.engine.ready();
      },
    );
    const verdict = info.exactness?.exact === false ? 'drafting is off for this file (not exact here: see the log)' : 'exact: drafting on';
    x.log.info(`set up a model: ${id} ready on ${info.device?.used ?? 'cpu'} (${verdict})`);
    void vscode.window.showInformationMessage(`Lockstep: ${id} is ready (${verdict}). Its first completion is in the sample document.`);
  } catch (e) {
    const message = (e as Error).message;
    x.log.error(`set up a model: ${id} did not load: ${message}`);
    void vscode.window.showErrorMessage(`Lockstep: ${id} did not load: ${message}`, 'Show Log').then((a) => {
      if (a) x.log.show();
    });
    return { stopped: 'load', message };
  }
  await tryCompletion(x);
  return { target: id };
}

/** Resolves when `done()` holds (checked every 50 ms); rejects when it throws, or after `ms`. */
function waitFor(done: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      let ok: boolean;
      try {
        ok = done();
      } catch (e) {
        reject(e);
        return;
      }
      if (ok) resolve();
      else if (Date.now() > until) reject(new Error('the new target setting was not applied'));
      else setTimeout(tick, 50);
    };
    tick();
  });
}
