/**
 * Download Models…: pick the catalog models that are not downloaded yet and fetch them, with progress and
 * cancellation in a notification; the variant is the one that suits the device the engine will most likely use.
 */
import * as vscode from 'vscode';
import { Device, hasGpuDeviceNode, likelyDevice } from '../engine/runtime/device';
import type { CatalogEntry } from '../models/catalog';
import { isDemoModel } from '../models/modelNotices';
import { DownloadOutcome, approximateSize, downloadAll, downloadVariant, formatBytes } from './download';
import type { ExtensionState } from './extensionState';
import { downloadChoices } from './enginePlan';

/** The device the engine will most likely use, which decides the variant to download (see downloadVariant). */
function downloadDevice(x: ExtensionState): Device | undefined {
  return likelyDevice(x.settings.device, process.platform, hasGpuDeviceNode());
}

export async function downloadModels(x: ExtensionState, arg?: unknown): Promise<DownloadOutcome[]> {
  if (!x.catalog) {
    void vscode.window.showErrorMessage(`Lockstep: the model catalog cannot be read: ${x.catalogError}`);
    return [];
  }
  const missing = downloadChoices(x.env());
  let entries: CatalogEntry[];
  if (Array.isArray(arg) && arg.every((a) => typeof a === 'string')) {
    entries = missing.filter((e) => (arg as string[]).includes(e.id));
  } else {
    if (missing.length === 0) {
      void vscode.window.showInformationMessage('Lockstep: every catalog model is already downloaded (or shipped with the extension).');
      return [];
    }
    type Item = vscode.QuickPickItem & { entry: CatalogEntry };
    const device = downloadDevice(x);
    const items: Item[] = missing.map((e) => {
      const size = approximateSize(e, downloadVariant(e, device));
      return { label: e.id, description: `${e.role}${size ? ` · about ${formatBytes(size)}` : ''}`, detail: e.name, entry: e };
    });
    const picks = await vscode.window.showQuickPick(items, { title: 'Lockstep: Download Models', canPickMany: true, placeHolder: `Into ${x.env().cacheDir}` });
    if (!picks || picks.length === 0) return [];
    entries = picks.map((p) => p.entry);
  }
  const outcomes = await runDownloads(x, entries);
  await offerSwitch(x, entries, outcomes);
  return outcomes;
}

/**
 * A target just downloaded while the demo model serves: offer to use it (Download Models used to leave the demo in
 * place, so a user who downloaded Qwen still saw the demo's text).
 */
async function offerSwitch(x: ExtensionState, entries: CatalogEntry[], outcomes: DownloadOutcome[]): Promise<void> {
  if (!isDemoModel(x.plan?.target.entry)) return;
  const target = entries.find((e) => e.role !== 'drafter' && outcomes.some((o) => o.ok && o.id === e.id));
  if (target === undefined) return;
  const a = await vscode.window.showInformationMessage(`Lockstep: use ${target.id} as the target model instead of the demo?`, 'Use as Target', 'Not now');
  if (a !== 'Use as Target') return;
  await x.updateSetting('target', target.id);
  x.log.info(`target setting → ${target.id} (after its download)`);
}

/** Offers to download a catalog model that a choice needs; true when it is there afterwards. */
export async function offerDownload(x: ExtensionState, entry: CatalogEntry): Promise<boolean> {
  const size = approximateSize(entry);
  const a = await vscode.window.showInformationMessage(
    `Lockstep: ${entry.id} is not downloaded${size ? ` (about ${formatBytes(size)})` : ''}. Download it now?`,
    'Download',
  );
  if (a !== 'Download') return false;
  const [r] = await runDownloads(x, [entry]);
  return r?.ok === true;
}

/** Downloads entries with progress and cancel in a notification; the outcomes are logged and failures shown. */
export async function runDownloads(
  x: ExtensionState, entries: CatalogEntry[], variantOf?: (e: CatalogEntry) => string | undefined,
): Promise<DownloadOutcome[]> {
  const env = x.env();
  const device = downloadDevice(x);
  const variant = variantOf ?? ((e: CatalogEntry) => downloadVariant(e, device));
  const before = x.status.state;
  const outcomes = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Lockstep', cancellable: true },
    async (progress, token) => {
      const ac = new AbortController();
      const sub = token.onCancellationRequested(() => ac.abort());
      let lastPercent = 0;
      let lastIndex = -1;
      try {
        return await downloadAll(
          x.download,
          entries,
          {
            endpoint: x.settings.hubEndpoint || undefined, cacheDir: env.cacheDir, signal: ac.signal,
            variantOf: variant,
          },
          (index, entry, percent, detail) => {
            if (index !== lastIndex) {
              lastIndex = index;
              lastPercent = 0;
              const v = variant(entry);
              x.log.info(`downloading ${entry.id} (${entry.repo}${v ? `, variant ${v}` : ''}) into ${env.cacheDir}`);
            }
            const p = percent ?? lastPercent;
            const which = entries.length > 1 ? ` (${index + 1}/${entries.length})` : '';
            progress.report({
              message: `downloading ${entry.id}${which}${percent === undefined ? '' : ` — ${Math.floor(percent)}%`}${detail?.file ? ` · ${detail.file}` : ''}`,
              increment: (p - lastPercent) / entries.length,
            });
            lastPercent = p;
            x.status.setState({ kind: 'downloading', model: entry.id, percent });
          },
        );
      } finally {
        sub.dispose();
      }
    },
  );
  x.status.state = before;
  for (const o of outcomes) {
    if (o.ok) x.log.info(`downloaded ${o.id} → ${o.dir}`);
    else if (o.cancelled) x.log.info(`download of ${o.id} cancelled (a later download resumes it)`);
    else x.log.error(`download of ${o.id} failed: ${o.error}`);
  }
  const failed = outcomes.filter((o) => !o.ok && !o.cancelled);
  if (failed.length > 0) {
    void vscode.window.showErrorMessage(`Lockstep: download failed — ${failed.map((f) => `${f.id}: ${f.error}`).join('; ')}`, 'Show Log').then((a) => {
      if (a) x.log.show();
    });
  } else if (outcomes.some((o) => o.ok)) {
    void vscode.window.showInformationMessage(`Lockstep: downloaded ${outcomes.filter((o) => o.ok).map((o) => o.id).join(', ')}.`);
  }
  // A model the settings wanted may be there now.
  x.applyPlan();
  return outcomes;
}
