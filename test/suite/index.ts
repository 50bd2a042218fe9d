/**
 * Entry of the integration suite inside VS Code: the extension host loads this file (extensionTestsPath) and calls
 * run(). Used by runTest.ts (@vscode/test-electron) and by any other runner that can load an extension-tests module
 * (e.g. inside code-server). Runs every *.test.js next to it with mocha's TDD interface.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha = require('mocha');

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: true, timeout: 180_000 });
  const grep = process.env.LOCKSTEP_SUITE_GREP;
  if (grep) mocha.grep(grep);
  for (const f of fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) {
    mocha.addFile(path.join(__dirname, f));
  }
  return new Promise((resolve, reject) => {
    try {
      mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} Lockstep integration test(s) failed`)) : resolve()));
    } catch (e) {
      reject(e as Error);
    }
  });
}
