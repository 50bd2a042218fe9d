/**
 * The worker thread that makes a fused copy (fusedModel.ts runFusedJob) off the engine's thread: the export is
 * synchronous, streaming CPU work of seconds to minutes, and completions go on from the original file meanwhile.
 * Progress is posted at most every 1 % of the bytes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { NotConvertibleError } from '../../onnx/fusedExport';
import { FusedJob, FusedWorkerMessage, makeFusedCopy } from './fusedModel';

const { job, tmp } = workerData as { job: FusedJob; tmp: string };
const post = (m: FusedWorkerMessage): void => parentPort!.postMessage(m);
let lastStep = -1;
try {
  const nodes = makeFusedCopy(job, (done, total) => {
    const step = Math.floor((100 * done) / total);
    if (step === lastStep) return;
    lastStep = step;
    post({ type: 'progress', done, total });
  }, tmp);
  post({ type: 'done', nodes });
} catch (e) {
  post({ type: 'error', message: (e as Error).message.split('\n')[0], notConvertible: e instanceof NotConvertibleError });
}
