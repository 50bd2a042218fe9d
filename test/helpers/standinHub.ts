/**
 * A Hub stand-in serving the ci stand-in (Qwen2-shaped, Qwen's tokenizer, a q4 and an fp32 file) as a repository,
 * and an extra catalog file (lockstep.extraCatalog / --extra-catalog) whose entry downloads it: the first-run
 * setup's tests (unit with the fake vscode, and end to end in code-server) take the path a user takes with
 * Qwen2.5-Coder, through the real downloader, against this local server.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FakeHub } from './fakeHub';

export const STANDIN_ID = 'standin-coder-ci';
export const STANDIN_REPO = 'lockstep-test/Standin-Coder-CI';

export interface StandinHub {
  hub: FakeHub;
  /** The extra catalog file naming the stand-in. */
  catalogFile: string;
  close(): Promise<void>;
}

/** The catalog entry of the stand-in, shaped like the shipped Qwen2.5-Coder entries. */
export function standinEntry(): Record<string, unknown> {
  return {
    id: STANDIN_ID,
    name: 'Stand-in coder (ci size, Qwen2 layout and tokenizer; served by the test Hub)',
    role: 'target',
    family: 'qwen2.5-coder',
    fim: 'qwen2.5-coder',
    repo: STANDIN_REPO,
    commit: 'main',
    verify: 'on-first-download',
    defaultVariant: 'q4',
    deviceVariants: { cpu: 'q4' },
    files: ['config.json', 'tokenizer.json', 'tokenizer_config.json'],
    variants: {
      q4: { approxBytes: 56_000_000, files: ['onnx/model_q4.onnx'] },
      fp32: { approxBytes: 90_000_000, files: ['onnx/model.onnx', 'onnx/model.onnx_data'] },
    },
  };
}

/** Serves `targetDir` (the ci stand-in's target folder) and writes the catalog into `workDir`. */
export async function startStandinHub(targetDir: string, workDir: string): Promise<StandinHub> {
  const files = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_q4.onnx', 'onnx/model.onnx', 'onnx/model.onnx_data'];
  const commit = crypto.createHash('sha1').update(`standin ${STANDIN_REPO}`).digest('hex');
  const hub = await FakeHub.start([{
    id: STANDIN_REPO, commit, files: files.map((p) => ({ path: p, content: fs.readFileSync(path.join(targetDir, p)) })),
  }]);
  fs.mkdirSync(workDir, { recursive: true });
  const catalogFile = path.join(workDir, 'team-models.json');
  fs.writeFileSync(catalogFile, `${JSON.stringify({ version: 1, models: [standinEntry()] }, null, 2)}\n`);
  return { hub, catalogFile, close: () => hub.close() };
}
