/**
 * The VS Code extension's entry point (bundled by esbuild into dist/extension.js; the engine process is
 * dist/engineProcess.js next to it). activate() returns a small API — the integration tests read results through it.
 */
import type * as vscode from 'vscode';
import { downloadModel } from '../models/download';
import type { LockstepApi } from './api';
import { Controller } from './controller';

let controller: Controller | undefined;

export function activate(context: vscode.ExtensionContext): LockstepApi {
  controller = new Controller(context, downloadModel);
  context.subscriptions.push(controller);
  return controller.start();
}

export async function deactivate(): Promise<void> {
  const c = controller;
  controller = undefined;
  await c?.shutdown();
}

export type { LockstepApi } from './api';
export type { CompletionRecord } from './provider';
