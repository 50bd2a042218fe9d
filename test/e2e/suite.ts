/**
 * Session 1, suite: the shared integration suite (test/suite, mocha) inside code-server's extension host, as
 * @vscode/test-electron would run it; mocha's output is echoed live, its exit code comes back through the workbench.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { closeSession, openSession, type Session } from './browser';
import type { CodeServer } from './codeServer';
import { ARTIFACTS, E2EError, LIMITS, ROOT, log, sleep, waitUntil } from './common';

export interface SuiteResult {
  ok: boolean;
  seconds: number;
  passing?: number;
  failing?: number;
  /** mocha's output, colours removed (also in out/e2e/suite.log). */
  output: string;
}

export async function runSuite(browser: Browser, server: CodeServer): Promise<SuiteResult> {
  const start = Date.now();
  log('suite: the shared integration suite (test/suite) in the extension host');
  let session: Session | undefined;
  try {
    // test/suite/index.ts tees mocha's output to this file (LOCKSTEP_SUITE_LOG): echo it as it grows.
    const file = path.join(server.dirs.control, 'suite.log');
    fs.rmSync(file, { force: true });
    let printed = 0;
    const echo = (): void => {
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        return;
      }
      const end = text.lastIndexOf('\n') + 1;
      if (end > printed) {
        process.stdout.write(text.slice(printed, end));
        printed = end;
      }
    };
    const timer = setInterval(echo, 250);
    let code: number;
    try {
      session = await openSession(browser, server, 'suite', path.join(ROOT, 'out', 'test', 'suite', 'index'));
      code = await Promise.race([
        session.exit,
        sleep(LIMITS.suiteMs).then((): number => {
          throw new E2EError(`the suite did not finish within ${LIMITS.suiteMs / 60_000} min`);
        }),
        waitUntil('code-server', LIMITS.suiteMs, () => !server.alive, 1_000).then((): number => {
          throw new E2EError('code-server exited during the suite');
        }),
      ]);
    } finally {
      clearInterval(timer);
      await sleep(300);
      echo();
    }
    let raw = '';
    try {
      raw = fs.readFileSync(file, 'utf8');
    } catch {
      raw = `(the suite wrote no output to ${file}; the workbench log follows)\n${session?.output.join('\n') ?? ''}`;
    }
    // eslint-disable-next-line no-control-regex
    const output = raw.replace(/\x1b\[[0-9;]*m/g, '');
    fs.writeFileSync(path.join(ARTIFACTS, 'suite.log'), output);
    const passing = /(\d+) passing/.exec(output)?.[1];
    const failing = /(\d+) failing/.exec(output)?.[1];
    return {
      ok: code === 0 && passing !== undefined && Number(failing ?? 0) === 0,
      seconds: (Date.now() - start) / 1000,
      passing: passing === undefined ? undefined : Number(passing),
      failing: failing === undefined ? undefined : Number(failing),
      output,
    };
  } finally {
    await closeSession(session);
  }
}
