/**
 * Verify Drafter Invariance: completes at the cursor with every available drafter and both invariant couplings,
 * compares the bytes (verify.ts decides) and shows the report. Inline completions pause meanwhile, so that Verify's
 * requests are not superseded. With `lockstep.server.url`, the drafters are those the server lists in its info.
 */
import * as vscode from 'vscode';
import type { DrafterSpec } from '../engine/request/requests';
import type { ExtensionState } from './extensionState';
import { requireModels } from './modelCommands';
import { verifyDrafters } from './enginePlan';
import { extractWindow, windowChars } from './prompt';
import { buildCompletionRequest } from './request';
import { VERIFY_COUPLINGS, VerifyOutcome, VerifyRun, summarizeVerify } from './verify';

export async function verifyCommand(x: ExtensionState): Promise<VerifyOutcome | undefined> {
  try {
    return await verify(x, true);
  } catch (e) {
    void vscode.window.showErrorMessage(`Lockstep: Verify Drafter Invariance — ${(e as Error).message}`);
    return undefined;
  }
}

export async function verify(x: ExtensionState, show: boolean): Promise<VerifyOutcome> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) throw new Error('open a file and put the cursor where a completion should go');
  const remote = x.settings.serverUrl !== '';
  const m = remote ? undefined : requireModels(x);
  if (!remote && !m) throw new Error('no usable target model');
  let drafters: { spec: string; request: string; load?: DrafterSpec }[] = m ? verifyDrafters(m.plan.target, m.env) : [];
  const loads = drafters.flatMap((d) => (d.load ? [d.load] : []));
  const doc = editor.document;
  const pos = editor.selection.active;
  const win = extractWindow({ lineCount: doc.lineCount, lineAt: (i) => doc.lineAt(i).text }, pos, windowChars(x.settings.contextTokens));
  const position = `${vscode.workspace.asRelativePath(doc.uri)}:${pos.line + 1}:${pos.character + 1}`;
  // The same cross-file context as a completion here: it is part of the prompt whose invariance is checked.
  const base = buildCompletionRequest({
    window: win, settings: x.settings, seed: x.seeds.current, drafter: x.plan?.drafter.request ?? 'none',
    context: x.collectContext(doc, win.before, win.after),
  });

  x.paused = true;
  x.engine.cancelAll();
  try {
    return await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Lockstep: Verify Drafter Invariance', cancellable: true },
      async (progress, token) => {
        if (!x.applyPlan(loads)) throw new Error('the engine cannot load the drafters');
        progress.report({ message: remote ? 'asking the server…' : 'loading the drafters…' });
        const info = await x.engine.ready();
        if (remote) drafters = info.drafters.map((d) => ({ spec: d, request: d }));
        const runs: VerifyRun[] = [];
        const total = drafters.length * VERIFY_COUPLINGS.length;
        for (const coupling of VERIFY_COUPLINGS) {
          for (const d of drafters) {
            if (token.isCancellationRequested) throw new Error('cancelled');
            progress.report({ message: `${coupling} · ${d.spec} (${runs.length + 1}/${total})`, increment: 100 / total });
            const job = x.engine.complete({ ...base, drafter: d.request, coupling }, false);
            const sub = token.onCancellationRequested(() => x.engine.cancel(job.id));
            try {
              const r = await job.result;
              if (r.cancelled) throw new Error('cancelled');
              runs.push({
                drafter: d.spec, coupling, text: r.text, tokens: r.tokens, tokensPerSecond: r.tokensPerSecond,
                drafted: r.drafted, accepted: r.accepted, seconds: r.seconds,
              });
            } catch (e) {
              if ((e as Error).message === 'cancelled') throw e;
              runs.push({ drafter: d.spec, coupling, error: (e as Error).message, tokens: 0, tokensPerSecond: 0, drafted: 0, accepted: 0, seconds: 0 });
            } finally {
              sub.dispose();
            }
          }
        }
        const outcome = summarizeVerify(runs, {
          position,
          target: x.plan?.target.label ?? info.target,
          seed: base.seed,
          temperature: base.sampling.temperature,
          topP: base.sampling.topP,
          topK: base.sampling.topK,
          maxTokens: base.maxTokens,
          mode: base.mode,
          draftTokens: base.gamma,
          ...(info.exactness ? { exactness: info.exactness } : {}),
        });
        x.log.info(outcome.summary);
        if (show) {
          const report = await vscode.workspace.openTextDocument({ language: 'markdown', content: outcome.markdown });
          await vscode.window.showTextDocument(report, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
          if (outcome.identical) void vscode.window.showInformationMessage(`Lockstep: ${outcome.summary}`);
          else void vscode.window.showErrorMessage(`Lockstep: ${outcome.summary}`);
        }
        return outcome;
      },
    );
  } finally {
    x.paused = false;
  }
}
