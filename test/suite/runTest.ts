/**
 * `npm run test:electron`: downloads VS Code (needs internet; VSCODE_TEST_VERSION picks a version, default
 * stable), starts it with this repository as the extension under development, and runs test/suite in it.
 * Needs `tsc -p .` (out/test/suite) and `node esbuild.mjs` (dist/extension.js, dist/engineProcess.js) first — the npm
 * script does both. On Linux without a display, run it under xvfb-run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', '..');
  if (!fs.existsSync(path.join(root, 'dist', 'extension.js'))) {
    throw new Error('dist/extension.js is missing: run `node esbuild.mjs` first');
  }
  const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-vscode-user-'));
  try {
    await runTests({
      version: process.env.VSCODE_TEST_VERSION ?? 'stable',
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(__dirname, 'index'),
      launchArgs: [
        path.join(root, 'examples'),
        '--disable-extensions',
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
        `--user-data-dir=${userData}`,
      ],
      extensionTestsEnv: { LOCKSTEP_SUITE_GREP: process.env.LOCKSTEP_SUITE_GREP ?? '' },
    });
  } finally {
    fs.rmSync(userData, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`Lockstep integration tests: ${e.message}`);
  process.exit(1);
});
