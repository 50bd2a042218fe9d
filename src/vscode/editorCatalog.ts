/**
 * The editor's model catalog: the shipped models.json plus `lockstep.extraCatalog`. A bad entry is left out; a file
 * that cannot be used at all leaves the shipped models. The log gets every line, and one notification sums them up.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type Catalog, catalogSummary, loadCatalogOrBundled } from '../models/catalog';
import { withExtraCatalog } from '../models/catalogMerge';
import { expandHome } from './enginePlan';

export function loadEditorCatalog(extraCatalog: string, baseDir: string, log: vscode.LogOutputChannel): Catalog {
  const extra = extraCatalog === '' ? '' : path.resolve(baseDir, expandHome(extraCatalog));
  const catalog = withExtraCatalog(loadCatalogOrBundled(), extra);
  log.info(`model catalog ${catalog.file}${extra === '' ? '' : ` + ${extra}`}: ${catalog.models.map((m) => m.id).join(', ')}`);
  if (catalog.error !== undefined) log.error(`cannot use the model catalog: ${catalog.error}; only the models shipped with Lockstep are available`);
  for (const w of catalog.warnings) log.warn(`model catalog: ${w}`);
  const summary = catalogSummary(catalog);
  if (summary !== undefined) {
    const text = `Lockstep: ${summary}`;
    const shown = catalog.error !== undefined ? vscode.window.showErrorMessage(text, 'Show Log') : vscode.window.showWarningMessage(text, 'Show Log');
    void shown.then((a) => {
      if (a === 'Show Log') log.show();
    });
  }
  return catalog;
}
