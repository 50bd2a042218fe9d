/** Text the extension shows: the status bar item, its tooltip, a completion's title, log lines. No `vscode` import. */
import type { DeviceOutcome } from '../engine/runtime/device';
import { isInvariantCoupling } from '../engine/decode/couplings/registry';
import type { CompletionResult } from '../engine/process/engine';
import { describeVerdict, type ExactnessVerdict } from '../engine/runtime/exactness';
import type { CatalogEntry } from '../models/catalogTypes';
import { demoLabel, isDemoModel, languageMismatch } from '../models/modelNotices';
import { deviceSummary } from './deviceNotice';
import type { EngineState } from '../engine/process/engineState';

export interface LastCompletionStats {
  tokens: number;
  tokensPerSecond: number;
  drafted: number;
  accepted: number;
  /** accepted / drafted, 0 without drafts. */
  acceptance: number;
}

export interface StatusInfo {
  enabled: boolean;
  state: EngineState;
  target: string;
  drafter: string;
  seed: number;
  /** The seed was chosen by a command, not the setting. */
  seedOverridden: boolean;
  coupling: string;
  last?: LastCompletionStats;
  /** A generation is running. */
  busy?: boolean;
  /** Where the loaded engine runs (absent before the first load). */
  device?: DeviceOutcome;
  /** The exactness probe's verdict on the loaded target. */
  exactness?: ExactnessVerdict;
  /** The target is a demo model: modelNotices.demoLabel of its entry. */
  demo?: string;
  /** "snoozed until 14:05" while snoozed (snooze.ts). */
  snoozed?: string;
  /** Why the target does not complete the active editor's language (modelNotices.languageMismatch). */
  languageNote?: string;
}

/** The status's words about the target's catalog entry: a demo model; a language it does not complete. */
export function modelStatus(entry: CatalogEntry | undefined, activeLanguageId: string | undefined): Pick<StatusInfo, 'demo' | 'languageNote'> {
  const languageNote = activeLanguageId === undefined ? undefined : languageMismatch(entry, activeLanguageId);
  return {
    ...(isDemoModel(entry) ? { demo: demoLabel(entry!) } : {}),
    ...(languageNote === undefined ? {} : { languageNote }),
  };
}

/** The command that sets up a real model (the first-run setup), named in the demo tooltip. */
const SET_UP_A_MODEL = 'Set up a real model: Lockstep: Set Up a Model';

export function formatAcceptance(s: Pick<LastCompletionStats, 'drafted' | 'accepted'>): string {
  return s.drafted > 0 ? `${Math.round((100 * s.accepted) / s.drafted)}%` : '—';
}

export function formatRate(tokensPerSecond: number): string {
  if (!Number.isFinite(tokensPerSecond) || tokensPerSecond <= 0) return '—';
  return tokensPerSecond >= 100 ? `${Math.round(tokensPerSecond)} tok/s` : `${tokensPerSecond.toFixed(1)} tok/s`;
}

/** The status bar item's text (with codicons). */
export function statusBarText(info: StatusInfo): string {
  const s = info.state;
  if (s.kind === 'downloading') {
    return `$(cloud-download) Lockstep ${s.percent === undefined ? '…' : `${Math.floor(s.percent)}%`}`;
  }
  if (s.kind === 'loading') return '$(loading~spin) Lockstep: loading';
  if (s.kind === 'error') return '$(error) Lockstep: error';
  if (!info.enabled) return '$(circle-slash) Lockstep: off';
  if (info.snoozed !== undefined) return `$(bell-slash) Lockstep: ${info.snoozed}`;
  const icon = info.busy ? '$(sync~spin)' : '$(sparkle)';
  const parts = [`${icon} Lockstep: ${info.target}${info.demo === undefined ? '' : ' (demo)'}`];
  if (s.optimizing !== undefined) parts.push(`optimizing ${Math.floor(s.optimizing)}%`);
  if (info.last) parts.push(formatRate(info.last.tokensPerSecond), formatAcceptance(info.last));
  parts.push(info.drafter, `seed ${info.seed}`);
  return parts.join(' · ');
}

export function statusTooltip(info: StatusInfo): string {
  const s = info.state;
  const lines: string[] = [];
  const state = s.kind === 'loading' ? `loading ${s.target}` : s.kind === 'downloading'
    ? `downloading ${s.model}${s.percent === undefined ? '' : ` (${Math.floor(s.percent)}%)`}`
    : s.kind === 'error' ? `error: ${s.message}` : !info.enabled ? 'inline completions off'
    : info.snoozed !== undefined ? `${info.snoozed} (Resume from the menu)` : 'ready';
  lines.push(`Lockstep — ${state}`);
  if (info.languageNote !== undefined) lines.push(`Not completing this file: ${info.languageNote}`);
  if (s.kind === 'ready' && s.optimizing !== undefined) {
    lines.push(`Making the model's fused-operator copy: ${Math.floor(s.optimizing)}% (completions come from the downloaded file meanwhile; the copy is used when ready)`);
  }
  lines.push(`Target: ${info.target}${info.demo === undefined ? '' : ` — ${info.demo}`}`);
  if (info.demo !== undefined || info.languageNote !== undefined) lines.push(SET_UP_A_MODEL);
  lines.push(`Drafter: ${info.drafter}`);
  if (info.device) lines.push(`Device: ${deviceSummary(info.device)}`);
  if (info.exactness) lines.push(`Exactness: ${describeVerdict(info.exactness)}`);
  lines.push(`Coupling: ${info.coupling}${isInvariantCoupling(info.coupling) ? '' : ' (not drafter-invariant)'}`);
  lines.push(`Seed: ${info.seed}${info.seedOverridden ? ' (chosen this session; the lockstep.seed setting is unchanged)' : ''}`);
  if (info.last) {
    lines.push(
      `Last completion: ${info.last.tokens} tokens, ${formatRate(info.last.tokensPerSecond)}, acceptance ${formatAcceptance(info.last)}` +
        (info.last.drafted > 0 ? ` (${info.last.accepted}/${info.last.drafted})` : ''),
    );
  }
  lines.push('Click for the Lockstep menu.');
  return lines.join('\n');
}

/** The title of a completion item's command: everything needed to reproduce the completion. */
export function completionTitle(r: { seed: number; drafter: string; coupling: string; tokens: number; tokensPerSecond: number }, fromCache = false): string {
  return `Lockstep · seed ${r.seed} · ${r.coupling} · drafter ${r.drafter}${fromCache ? ' · cached' : ` · ${r.tokens} tokens · ${formatRate(r.tokensPerSecond)}`}`;
}

/** A per-completion log line (debug level). */
export function completionLogLine(r: CompletionResult, where: string, mode: string): string {
  const acc = r.drafted > 0 ? `${(100 * r.acceptance).toFixed(0)}% (${r.accepted}/${r.drafted})` : 'n/a';
  return `completion at ${where}: ${r.tokens} tokens in ${(r.seconds * 1000).toFixed(0)} ms ` +
    `(prefill ${(r.prefillSeconds * 1000).toFixed(0)} ms, ${r.promptTokens} prompt tokens), ${formatRate(r.tokensPerSecond)}, ` +
    `acceptance ${acc}, ${r.targetCalls} target calls, ${r.drafterCalls} drafter calls, drafter ${r.drafter}, ` +
    `coupling ${r.coupling}, seed ${r.seed}, mode ${mode}, stop ${r.stopReason}${r.cancelled ? ' (cancelled)' : ''}`;
}
