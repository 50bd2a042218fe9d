/**
 * Entry of the integration suite inside VS Code: the extension host loads this file (extensionTestsPath) and calls
 * run(). Used by runTest.ts (@vscode/test-electron) and by any other runner that can load an extension-tests module
 * (e.g. inside code-server). Runs every *.suite.js next to it with mocha's TDD interface.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import Mocha = require('mocha');

/**
 * With LOCKSTEP_SUITE_LOG set (a file path), everything the reporter prints is also written there, formatted: a runner
 * that cannot read the extension host's console (test/e2e/run.ts in code-server) reads it from the file.
 */
function teeReporterTo(file: string | undefined): () => void {
  if (!file) return () => undefined;
  // Mocha's reporters print through Base.consoleLog (a copy of console.log taken when mocha loaded).
  const base = Mocha.reporters.Base as unknown as { consoleLog: (...args: unknown[]) => void };
  const original = base.consoleLog;
  fs.writeFileSync(file, '');
  base.consoleLog = (...args: unknown[]) => {
    try {
      fs.appendFileSync(file, `${util.format(...args)}\n`);
    } catch {
      /* the runner may have gone away */
    }
    original.apply(console, args);
  };
  return () => {
    base.consoleLog = original;
  };
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: true, timeout: 180_000 });
  const grep = process.env.LOCKSTEP_SUITE_GREP;
  if (grep) mocha.grep(grep);
  for (const f of fs.readdirSync(__dirname).filter((f) => f.endsWith('.suite.js')).sort()) {
    mocha.addFile(path.join(__dirname, f));
  }
  const untee = teeReporterTo(process.env.LOCKSTEP_SUITE_LOG);
  return new Promise<void>((resolve, reject) => {
    try {
      mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} Lockstep integration test(s) failed`)) : resolve()));
    } catch (e) {
      reject(e as Error);
    }
  }).finally(untee);
}
