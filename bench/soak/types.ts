/** The soak benchmark's options, defaults and report rows (bench/soak/soak.ts runs it, soakFormat.ts prints it). */
import type { ReportHead } from '../common';

export interface SoakOptions {
  /** Keystrokes per scenario (default 1000 and 3000). */
  keystrokes?: number[];
  /** lockstep.debounceMs values (default 0 and the default setting, 150). */
  debounceMs?: number[];
  /** Without and/or with the CPU hog (default both). */
  hog?: boolean[];
  /** Mean interval between keystrokes in ms (default 50). */
  intervalMs?: number;
  /** Each interval is uniform in [interval − jitter, interval + jitter] (default 15). */
  jitterMs?: number;
  /** Extra pause after typing a newline, ms (default 300: a typist's pause at the end of a line). */
  linePauseMs?: number;
  /** How long to wait for the last keystroke's completion, seconds (default 120). */
  waitSeconds?: number;
  /** lockstep.threads (default 1). */
  threads?: number;
  /** lockstep.device (default cpu). */
  device?: string;
  /** lockstep.target (default: the setting's default). */
  target?: string;
  /** Busy-looping processes of the CPU hog (default os.cpus().length). */
  hogProcesses?: number;
  /** The extension's entry module (default: extension.js next to the bundle, else out/src/vscode/extension.js). */
  extension?: string;
  /** Seed of the keystroke intervals' jitter (default 1). */
  seed?: number;
  /** Memory sampling period, ms (default 1000). */
  sampleMs?: number;
  argv?: string[];
  onProgress?: (done: number, total: number) => void;
  /** A line per scenario on stderr (the CLI's progress). */
  onNote?: (line: string) => void;
}

export const SOAK_DEFAULTS = {
  keystrokes: [1000, 3000], debounceMs: [0, 150], hog: [false, true], intervalMs: 50, jitterMs: 15, linePauseMs: 300,
  waitSeconds: 120, threads: 1, device: 'cpu', seed: 1, sampleMs: 1000,
};

/** --quick: two tiny scenarios (well under a minute together). */
export const SOAK_QUICK = { keystrokes: [60], scenarios: [{ debounceMs: 0, hog: false }, { debounceMs: 150, hog: true }], waitSeconds: 60 };

export interface Series {
  min: number;
  max: number;
  last: number;
  /** One value per sample (every `sampleMs`), MiB. */
  series: number[];
}

export interface SoakRow {
  scenario: string;
  keystrokes: number;
  debounceMs: number;
  hog: boolean;
  /** Busy-looping processes (0 without the hog). */
  hogProcesses: number;
  /** The typed text: file and character range. */
  typed: string;
  typingSeconds: number;
  /** Requests issued to the engine (EngineHost.complete calls). */
  requests: number;
  queueMax: number;
  cancelledBeforeStart: number;
  cancelledPrefillOnly: number;
  cancelled: number;
  completed: number;
  failed: number;
  /** Requests still outstanding when the run ended (abandoned to deactivate()). */
  unsettled: number;
  /** Engine seconds spent on requests that came back cancelled, and their prefill seconds. */
  cancelledSeconds: number;
  cancelledPrefillSeconds: number;
  /** Completed requests: from the provider call (keystroke) to the engine's result. */
  p50Ms: number | null;
  p95Ms: number | null;
  /** Completed requests: from EngineHost.complete to the result. */
  engineP50Ms: number | null;
  engineP95Ms: number | null;
  /** Keystrokes whose provider call returned an item (cache hits included). */
  items: number;
  /** From the last keystroke to the provider's return; null when it did not return within the wait. */
  lastKeystrokeMs: number | null;
  lastKeystroke: 'item' | 'empty' | 'error' | 'never';
  /** The last keystroke's item came from the completion cache (typing along an earlier suggestion), not the engine. */
  lastFromCache: boolean;
  /**
   * From the last keystroke until its provider call had returned and no engine request was outstanding (the backlog
   * drained); null when that did not happen within the wait.
   */
  drainMs: number | null;
  /** This process's event-loop delay (the extension host's responsiveness), ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  rssMiB: Series;
  heapMiB: Series;
  /** Resident memory of the engine's child processes (0 for an engine in a worker thread, which is in rssMiB). */
  engineRssMiB: Series;
  /** Queue length (outstanding − 1) at each sample. */
  queueSeries: number[];
  engineProcessesMax: number;
  workerThreadsMax: number;
  engineProcessesAtEnd: number;
  workerThreadsAtEnd: number;
  /** Warnings and errors the extension logged (first 20). */
  logProblems: string[];
}

export interface SoakReport extends ReportHead {
  extension: string;
  intervalMs: number;
  jitterMs: number;
  linePauseMs: number;
  waitSeconds: number;
  sampleMs: number;
  device: string;
  rows: SoakRow[];
}
