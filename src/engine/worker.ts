/**
 * The engine's worker thread. onnxruntime-node's run() blocks its thread for the whole inference, so the engine
 * lives here and the extension host stays responsive. Cancellation comes through shared memory: the client stores
 * the lowest request id still wanted, and the decode loop reads it between model calls.
 */
import { parentPort } from 'node:worker_threads';
import { Engine } from './engine';
import type { FromWorker, ToWorker } from './protocol';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

let engine: Engine | null = null;
let cancel: Int32Array | null = null;
// Requests run one at a time, in arrival order.
let queue: Promise<void> = Promise.resolve();

function send(msg: FromWorker): void {
  port!.postMessage(msg);
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'init') {
    cancel = new Int32Array(msg.cancel);
    queue = queue.then(async () => {
      try {
        engine = await Engine.create(msg.options);
        send({ type: 'ready', info: engine.info() });
      } catch (e) {
        send({ type: 'error', id: null, message: (e as Error).message });
      }
    });
  } else if (msg.type === 'complete') {
    queue = queue.then(async () => {
      if (!engine) {
        send({ type: 'error', id: msg.id, message: 'engine is not loaded' });
        return;
      }
      const signal = { get cancelled(): boolean { return cancel !== null && msg.id < Atomics.load(cancel, 0); } };
      try {
        const result = await engine.complete(msg.request, signal);
        send({ type: 'result', id: msg.id, result });
      } catch (e) {
        send({ type: 'error', id: msg.id, message: (e as Error).message });
      }
    });
  } else if (msg.type === 'dispose') {
    queue = queue.then(async () => {
      await engine?.dispose();
      engine = null;
      port!.close();
    });
  }
});
