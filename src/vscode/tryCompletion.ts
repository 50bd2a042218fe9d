/**
 * Lockstep: Try a Completion — a sample document in a language the target was trained on, the cursor where code
 * is obviously wanted, and an explicit inline-suggestion trigger: the setup's last step ("show the first
 * completion") and the walkthrough's "try it" button. The document is untitled: nothing is written to disk.
 */
import * as vscode from 'vscode';
import { SAMPLES, sampleLanguage } from './samples';

export async function tryCompletion(x: { plan?: { target: { entry?: { languages?: string[] } } } | undefined }): Promise<vscode.TextEditor> {
  const language = sampleLanguage(vscode.window.activeTextEditor?.document.languageId, x.plan?.target.entry?.languages);
  const sample = SAMPLES[language];
  const at = sample.indexOf('|');
  const doc = await vscode.workspace.openTextDocument({ language, content: sample.slice(0, at) + sample.slice(at + 1) });
  const editor = await vscode.window.showTextDocument(doc);
  const pos = doc.positionAt(at);
  editor.selection = new vscode.Selection(pos, pos);
  await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
  return editor;
}
