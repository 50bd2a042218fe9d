/**
 * An engine process that fails on purpose, for the tests of the client's and the host's failure handling: the real
 * server (src/engine/process/engineServer.ts) serving the real Engine, except that the request chosen by LOCKSTEP_TEST_FAULT
 * fails the way onnxruntime can:
 *   abort   process.abort() inside the call (what an uncaught Napi::Error does)
 *   exit    the process exits with code 3
 *   hang    the call never returns and the event loop never turns (a native run that hangs)
 *   throw   the call throws (run() rejecting), the process stays up
 * `LOCKSTEP_TEST_FAULT=<kind>[@<n>][:<marker file>]`: the fault hits the n-th request of each process (default 1);
 * with a marker file it hits only while that file does not exist, and creates it (a fault that happens once).
 */
import * as fs from 'node:fs';
import { Engine } from '../../src/engine/process/engine';
import { serveEngine, type ServedEngine } from '../../src/engine/process/engineServer';

const spec = process.env.LOCKSTEP_TEST_FAULT ?? '';
const m = /^(abort|exit|hang|throw)(?:@(\d+))?(?::(.+))?$/.exec(spec);
if (!m) throw new Error(`LOCKSTEP_TEST_FAULT must be kind[@n][:marker], not "${spec}"`);
const [, kind, nth, marker] = m;
let requests = 0;

function faultNow(): boolean {
  requests++;
  if (requests !== Number(nth ?? 1)) return false;
  if (marker === undefined) return true;
  if (fs.existsSync(marker)) return false;
  fs.writeFileSync(marker, kind);
  return true;
}

serveEngine(async (options): Promise<ServedEngine> => {
  const engine = await Engine.create(options);
  return {
    info: () => engine.info(),
    resetCaches: () => engine.resetCaches(),
    dispose: () => engine.dispose(),
    complete: async (req, signal) => {
      if (faultNow()) {
        if (kind === 'abort') process.abort();
        if (kind === 'exit') process.exit(3);
        if (kind === 'throw') throw new Error('injected failure in the model call');
        for (;;) {
          // hang: a busy loop, like a native call that never returns (no event loop turn, no heartbeat)
        }
      }
      return engine.complete(req, signal);
    },
  };
});
