/** Where the lockstep package (the extension or the CLI) is installed: models.json and models/ live there. */
import * as fs from 'node:fs';
import * as path from 'node:path';

let cachedRoot: string | undefined;

/**
 * The package root: the nearest directory at or above this file whose package.json is named "lockstep"
 * (true for the tsc output in out/src/models and for an esbuild bundle in dist/).
 */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(pkg, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && (parsed as { name?: unknown }).name === 'lockstep') {
        cachedRoot = dir;
        return dir;
      }
    } catch {
      // no package.json here, or not JSON: keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the lockstep package root above ${__dirname}`);
    dir = parent;
  }
}
