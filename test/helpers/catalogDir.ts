/**
 * A catalog folder outside the package for tests: `bundled` paths must stay inside the models/ folder next to the
 * catalog file (symbolic links out of it are refused), so the shipped models are hard-linked (copied where links
 * are not possible) into <dir>/models/<name>.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './models';

function linkTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const d of fs.readdirSync(from, { withFileTypes: true })) {
    const a = path.join(from, d.name);
    const b = path.join(to, d.name);
    if (d.isDirectory()) linkTree(a, b);
    else if (!fs.existsSync(b)) {
      try {
        fs.linkSync(a, b);
      } catch {
        fs.copyFileSync(a, b);
      }
    }
  }
}

/**
 * Writes `catalog` to <dir>/models.json and puts the model directories it needs at <dir>/models/<name>: `models` maps
 * a name to the directory to link in (default: the shipped models under their own names). Returns the catalog file.
 */
export function writeCatalogDir(
  dir: string, catalog: unknown,
  models: Record<string, string> = Object.fromEntries(['lockstep-target', 'lockstep-drafter-a', 'lockstep-drafter-b'].map((m) => [m, path.join(ROOT, 'models', m)])),
): string {
  for (const [name, from] of Object.entries(models)) linkTree(from, path.join(dir, 'models', name));
  const file = path.join(dir, 'models.json');
  fs.writeFileSync(file, typeof catalog === 'string' ? catalog : JSON.stringify(catalog));
  return file;
}
