/**
 * Stopping the run whatever ends it — main() finishing or failing, SIGINT/SIGTERM, the overall watchdog — through one
 * cleanup (run.ts sets it: the browser, code-server's process group, the temporary folders), and the exit code.
 */
import { E2EError, log } from './common';

let cleanup: (() => Promise<void>) | undefined;
/** Set when a signal or the watchdog stops the run: the exit code, whatever main() then returns. */
let stopCode: number | undefined;

/** One cleanup, however many callers (the end of main, a signal, the watchdog): each waits for the same one. */
export function setCleanup(stopAll: () => Promise<void>): () => Promise<void> {
  let cleaning: Promise<void> | undefined;
  const once = (): Promise<void> => (cleaning ??= stopAll());
  cleanup = once;
  return once;
}

/** The watchdog and the signal handlers: each cleans up, then exits. */
export function armStopHandlers(): void {
  // A last-resort bound on the whole run (the per-step limits are shorter): fail, after cleaning up.
  const overallMs = Number(process.env.LOCKSTEP_E2E_TIMEOUT_MIN || 45) * 60_000;
  setTimeout(() => {
    log(`the whole run exceeded ${overallMs / 60_000} min (LOCKSTEP_E2E_TIMEOUT_MIN): stopping`);
    stopCode = 1;
    const done = (): never => process.exit(1);
    (cleanup ? cleanup() : Promise.resolve()).then(done, done);
    setTimeout(done, 20_000).unref();
  }, overallMs).unref();

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      stopCode = sig === 'SIGINT' ? 130 : 143;
      const done = (): never => process.exit(stopCode);
      (cleanup ? cleanup() : Promise.resolve()).then(done, done);
      setTimeout(done, 20_000).unref();
    });
  }
}

/** Exits with main()'s code (or the stop's), printing a failure: an E2EError as its message, anything else with its stack. */
export function exitWhenDone(main: Promise<number>): void {
  main.then(
    (code) => process.exit(stopCode ?? code),
    (e: Error) => {
      if (stopCode === undefined) console.error(`\nLockstep e2e: ${e instanceof E2EError ? e.message : e.stack ?? e.message}`);
      process.exit(stopCode ?? 1);
    },
  );
}
