/**
 * The one cache folder the CLI and the extension's engine process share (exactness verdicts, patched q4 copies):
 * $LOCKSTEP_CACHE_DIR, else $XDG_CACHE_HOME/lockstep, else %LOCALAPPDATA%\lockstep on Windows, else ~/.cache/lockstep.
 */
import * as os from 'node:os';
import * as path from 'node:path';

export function lockstepCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOCKSTEP_CACHE_DIR) return path.resolve(env.LOCKSTEP_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), 'lockstep');
  if (process.platform === 'win32' && env.LOCALAPPDATA) return path.join(env.LOCALAPPDATA, 'lockstep');
  return path.join(os.homedir(), '.cache', 'lockstep');
}
