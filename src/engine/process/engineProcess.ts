/**
 * Entry point of the engine process (dist/engineProcess.js; out/src/engine/process/engineProcess.js under tsc), started by
 * client.ts with child_process.fork. onnxruntime runs here and nowhere else: a native crash, an abort or a hang costs
 * this process only, never the editor's extension host, and the client can always kill it with a signal.
 */
import { Engine } from './engine';
import { serveEngine } from './engineServer';

// The engine process serves from the original file at once and makes a missing fused copy in the background.
serveEngine((options) => Engine.create({ fusedMode: 'background', ...options }));
