/**
 * What `lockstep complete` prints once the completion is done: the text on stdout and one stats line on stderr, or one
 * JSON object on stdout (--json). An empty completion says so on stderr, so that "nothing" is visibly an answer
 * rather than a silent failure. A demo target (catalog `"demo": true`) is named as one in the stats line, its notice
 * follows once on stderr, and --json carries `demo` and `notice` (the words are modelNotices.ts's, shared by every
 * surface).
 */
import type { CompletionRequest, CompletionResult } from '../engine/process/engine';
import type { CatalogEntry } from '../models/catalogTypes';
import { demoLabel, demoNotice, isDemoModel } from '../models/modelNotices';
import { CliIo } from './io';

/** The printed form of an empty completion (stderr; stdout stays empty, as the text is). */
export const EMPTY_COMPLETION = '(empty completion)';

export interface CompletionReport {
  result: CompletionResult;
  request: CompletionRequest;
  /** The drafter as the user wrote it (or the default). */
  drafter: string;
  device: string;
  targetSpec: string;
  targetDir: string;
  targetEntry?: CatalogEntry;
  /** Where the prompt came from (file:line:col, stdin, --prefix …). */
  position: string;
  contextSnippets: string[];
}

export function printCompletion(io: CliIo, rep: CompletionReport, json: boolean): void {
  const r = rep.result;
  const notice = demoNotice(rep.targetEntry, 'cli');
  if (json) {
    const req = rep.request;
    io.stdout(`${JSON.stringify({
      ...r,
      device: rep.device,
      drafter: rep.drafter,
      target: rep.targetSpec,
      targetDir: rep.targetDir,
      demo: notice !== undefined,
      ...(notice === undefined ? {} : { notice }),
      position: rep.position,
      temperature: req.sampling.temperature,
      topP: req.sampling.topP,
      topK: req.sampling.topK,
      gamma: req.gamma,
      mode: req.mode,
      maxTokens: req.maxTokens,
      contextSnippets: rep.contextSnippets,
    })}\n`);
    return;
  }
  io.stdout(r.text);
  const sep = r.text.endsWith('\n') || r.text === '' ? '' : '\n';
  if (r.text === '') io.stderr(`${EMPTY_COMPLETION}\n`);
  io.stderr(`${sep}${statsLine(r, rep)}\n`);
  if (notice !== undefined) io.stderr(`lockstep: ${notice}\n`);
}

function statsLine(r: CompletionResult, rep: CompletionReport): string {
  const acc = r.drafted > 0 ? `${(100 * r.acceptance).toFixed(0)}% (${r.accepted}/${r.drafted})` : 'n/a (no drafts)';
  const target = isDemoModel(rep.targetEntry) ? `${rep.targetSpec} (${demoLabel(rep.targetEntry!)})` : rep.targetSpec;
  return `[${r.tokens} tokens · ${r.tokensPerSecond.toFixed(1)} tokens/s · acceptance ${acc} · ` +
    `${r.targetCalls} target calls · target ${target} · drafter ${rep.drafter} · seed ${r.seed} · stop ${r.stopReason}` +
    `${r.contextFiles === undefined ? '' : ` · context ${r.contextFiles.join(', ')} (${r.contextTokens} tokens)`}]`;
}
