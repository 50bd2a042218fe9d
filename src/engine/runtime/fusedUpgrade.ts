/**
 * The target's fused copy made while the engine already serves from the original file (LoadOptions.fusedMode
 * 'background'): the export runs in a worker thread (fusedModel.ts runFusedJob), then the copy is loaded and probed
 * for exactness beside the original, and the engine swaps it in between two requests, after checking its logits
 * against the original's (fusedMismatch). A copy that fails is dropped and marked, and the original stays.
 */
import type { ExactnessVerdict } from './exactness';
import { FusedJob, FusedProgress, RunningFusedJob, fusedMismatch, rejectFusedCopy, runFusedJob } from './fusedModel';
import { CausalLM, LoadOptions } from './model';

/** What the engine tells its listeners about the copy (the engine process forwards them to the editor). */
export type FusedEvent =
  | { type: 'fused-progress'; file: string; done: number; total: number }
  | { type: 'fused-ready'; file: string }
  | { type: 'fused-applied'; file: string; note: string }
  | { type: 'fused-failed'; file: string; note: string };

export interface PreparedCopy {
  copy: CausalLM;
  verdict: ExactnessVerdict;
}

export class FusedUpgrade {
  private readonly running: RunningFusedJob;
  private prepared: PreparedCopy | null = null;
  private failed = false;
  /** Settles when the copy is loaded and probed (null when it could not be made). */
  readonly ready: Promise<PreparedCopy | null>;

  constructor(
    readonly job: FusedJob,
    dir: string,
    load: LoadOptions,
    probe: (copy: CausalLM) => Promise<ExactnessVerdict>,
    emit: (e: FusedEvent) => void,
  ) {
    this.running = runFusedJob(job, (p: FusedProgress) => emit({ type: 'fused-progress', ...p }));
    this.ready = this.running.done.then(async () => {
      // The copy is in the cache now, so this load finds it (and makes nothing).
      const copy = await CausalLM.load(dir, { ...load, fusedMode: 'wait' });
      if (copy.loadedFile !== job.copy) {
        await copy.dispose();
        throw new Error(`the copy was not found at ${job.copy}`);
      }
      const verdict = await probe(copy);
      this.prepared = { copy, verdict };
      emit({ type: 'fused-ready', file: job.file });
      return this.prepared;
    }).catch((e: Error) => {
      this.failed = true;
      if (e.message !== 'cancelled') emit({ type: 'fused-failed', file: job.file, note: `no fused-operator copy of ${job.file} (${e.message})` });
      return null;
    });
  }

  /** The loaded, probed copy when it is ready and not taken yet. */
  take(): PreparedCopy | null {
    const p = this.prepared;
    this.prepared = null;
    return p;
  }

  get settled(): boolean {
    return this.failed || this.prepared !== null;
  }

  /**
   * Null when `prepared.copy` gives `original`'s logits (the check a copy made at load gets), else why not; a copy
   * that fails is dropped from the cache and marked so that it is not made again.
   */
  static async check(prepared: PreparedCopy, original: CausalLM): Promise<string | null> {
    const why = await fusedMismatch(prepared.copy, original, original.config.vocabSize);
    if (why !== null) rejectFusedCopy(prepared.copy.loadedFile, why);
    return why;
  }

  async cancel(): Promise<void> {
    await this.running.cancel();
    await this.ready;
    await this.take()?.copy.dispose();
  }
}
