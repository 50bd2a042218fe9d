/**
 * Lockstep: Set Server Token… and Clear Server Token: the `lockstep serve` bearer token lives in VS Code's
 * SecretStorage (never in settings); a change (here or in another window) makes the remote engine ask again.
 */
import * as vscode from 'vscode';
import { COMMANDS } from './commandIds';

export const TOKEN_SECRET = 'lockstep.server.token';

export interface ServerCommandsHost {
  readonly log: vscode.LogOutputChannel;
  /** The token changed: the remote engine (if any) forgets what the server said and asks again. */
  tokenChanged(): void;
}

export async function setServerToken(secrets: vscode.SecretStorage, x: ServerCommandsHost, arg?: unknown): Promise<boolean> {
  const token = typeof arg === 'string' ? arg : await vscode.window.showInputBox({
    title: 'Lockstep: Set Server Token',
    prompt: 'The token of the lockstep serve server (lockstep.server.url); kept in VS Code\'s secret storage',
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? 'Empty: use Lockstep: Clear Server Token to remove the token' : /\s/.test(v.trim()) ? 'A token has no spaces' : undefined),
  });
  if (token === undefined || token.trim() === '') return false;
  await secrets.store(TOKEN_SECRET, token.trim());
  x.log.info('server token stored in VS Code\'s secret storage');
  return true;
}

export async function clearServerToken(secrets: vscode.SecretStorage, x: ServerCommandsHost): Promise<void> {
  await secrets.delete(TOKEN_SECRET);
  x.log.info('server token removed from VS Code\'s secret storage');
}

/** Registers both commands and follows changes of the stored token (here or in another window). */
export function registerServerCommands(secrets: vscode.SecretStorage | undefined, x: ServerCommandsHost): vscode.Disposable[] {
  const missing = (): void => void vscode.window.showErrorMessage('Lockstep: this editor has no secret storage for the server token');
  return [
    vscode.commands.registerCommand(COMMANDS.setServerToken, (arg) => (secrets ? setServerToken(secrets, x, arg) : missing())),
    vscode.commands.registerCommand(COMMANDS.clearServerToken, () => (secrets ? clearServerToken(secrets, x) : missing())),
    ...(secrets ? [secrets.onDidChange((e) => {
      if (e.key === TOKEN_SECRET) x.tokenChanged();
    })] : []),
  ];
}
