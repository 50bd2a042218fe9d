/**
 * A second catalog file added to the shipped one (the editor's `lockstep.extraCatalog`; the CLI's `--catalog` replaces
 * the catalog instead): a team's own models, or mirrored ones, next to the catalog that ships. Its entries are
 * validated like models.json's (a bad one is left out with one warning); one whose id is already in the shipped
 * catalog is left out too, so a file can never change what a shipped id means. A file that cannot be used at all
 * costs only its own entries: the shipped catalog stays, with a warning that says why.
 */
import * as path from 'node:path';
import { loadCatalog } from './catalog';
import type { Catalog } from './catalogTypes';

export function withExtraCatalog(base: Catalog, file: string): Catalog {
  if (file === '') return base;
  const abs = path.resolve(file);
  let extra: Catalog;
  try {
    extra = loadCatalog(abs);
  } catch (e) {
    return { ...base, warnings: [...base.warnings, `the extra catalog cannot be used: ${(e as Error).message}`] };
  }
  const ids = new Set(base.models.map((m) => m.id));
  const warnings = [...base.warnings, ...extra.warnings];
  const added = extra.models.filter((m) => {
    if (!ids.has(m.id)) return true;
    warnings.push(`${path.basename(abs)}: id "${m.id}" is already in the shipped catalog — entry skipped`);
    return false;
  });
  // Its recommended drafters were checked against its own entries (validateCatalog): they live in the same file.
  return { ...base, models: [...base.models, ...added], warnings };
}
