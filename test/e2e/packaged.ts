/**
 * The extension as users get it: the .vsix `npm run package` builds (scripts/package-vsix.mjs, this platform),
 * installed into each code-server's throwaway extensions folder with `code-server --install-extension`. The sessions
 * load a tiny generated *harness* extension as the "extension under development" (the smoke-test driver runs the
 * extension tests only with one), so the Lockstep they talk to is the installed one: the harness reports the
 * extension it sees (its folder, its manifest) and every session checks that it is the installed .vsix.
 *
 * LOCKSTEP_E2E_DEV=1 skips all this and loads the repository as the extension under development (quicker to iterate).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { E2EError, LIMITS, ROOT, log, waitUntil } from './common';

export interface Packaged {
  vsix: string;
  /** The harness extension's folder (the payload's extensionDevelopmentPath). */
  harness: string;
  /** publisher.name of the extension under test. */
  id: string;
}

let current: Packaged | undefined;

/** The packaged extension in use (undefined: the development folder, LOCKSTEP_E2E_DEV=1). */
export function packaged(): Packaged | undefined {
  return current;
}

const HARNESS_REPORT = 'harness.json';

/** Builds the .vsix and the harness extension into `dir`. */
export function buildPackaged(dir: string): Packaged | undefined {
  if (process.env.LOCKSTEP_E2E_DEV === '1') {
    log('LOCKSTEP_E2E_DEV=1: the repository is the extension under development (no .vsix)');
    return undefined;
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  const id = `${pkg.publisher}.${pkg.name}`;
  const target = `${process.platform}-${process.arch}`;
  fs.mkdirSync(dir, { recursive: true });
  const started = Date.now();
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'package-vsix.mjs'), '--target', target, '--out-dir', dir, '--stage-dir', path.join(dir, 'stage')], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8',
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new E2EError(`packaging the .vsix failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
  fs.rmSync(path.join(dir, 'stage'), { recursive: true, force: true });
  const vsix = path.join(dir, `${pkg.name}-${target}-${pkg.version}.vsix`);
  if (!fs.existsSync(vsix)) throw new E2EError(`package-vsix did not write ${vsix}`);
  log(`packaged ${path.basename(vsix)} (${(fs.statSync(vsix).size / 1e6).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(0)} s)`);

  // The harness: no contributions; at startup it writes what it sees of the extension under test to the control
  // folder (LOCKSTEP_E2E_CONTROL, set by codeServer.ts for the extension host).
  const harness = path.join(dir, 'harness');
  fs.mkdirSync(harness, { recursive: true });
  fs.writeFileSync(path.join(harness, 'package.json'), `${JSON.stringify({
    name: 'lockstep-e2e-harness', displayName: 'Lockstep e2e harness', publisher: 'lockstep-e2e', version: '0.0.0', private: true,
    engines: { vscode: '^1.90.0' }, activationEvents: ['*'], main: './extension.js',
  }, null, 2)}\n`);
  fs.writeFileSync(path.join(harness, 'extension.js'), `'use strict';
const fs = require('fs');
const path = require('path');
const vscode = require('vscode');
exports.activate = function () {
  const control = process.env.LOCKSTEP_E2E_CONTROL;
  if (!control) return;
  const ext = vscode.extensions.getExtension(${JSON.stringify(id)});
  const report = ext
    ? { pid: process.pid, extensionPath: ext.extensionPath, version: ext.packageJSON.version, manifestHasScripts: 'scripts' in ext.packageJSON }
    : { pid: process.pid, missing: true };
  const file = path.join(control, ${JSON.stringify(HARNESS_REPORT)});
  fs.writeFileSync(file + '.tmp', JSON.stringify(report));
  fs.renameSync(file + '.tmp', file);
};
exports.deactivate = function () {};
`);
  current = { vsix, harness, id };
  return current;
}

/** Installs the packaged extension into `extensionsDir` with code-server's CLI (env: the server's own). */
export function installPackaged(p: Packaged, node: string, entry: string, dirs: { extensions: string; userData: string }, env: NodeJS.ProcessEnv): void {
  const started = Date.now();
  let out: string;
  try {
    out = execFileSync(node, [entry, '--install-extension', p.vsix, '--extensions-dir', dirs.extensions, '--user-data-dir', dirs.userData], {
      env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000,
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new E2EError(`code-server --install-extension ${path.basename(p.vsix)} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
  if (!/successfully installed/i.test(out)) throw new E2EError(`code-server --install-extension ${path.basename(p.vsix)}: ${out}`);
  const installed = fs.readdirSync(dirs.extensions).find((d) => d.toLowerCase().startsWith(`${p.id.toLowerCase()}-`));
  if (!installed) throw new E2EError(`${p.id} is not in ${dirs.extensions} after --install-extension`);
  log(`installed ${path.basename(p.vsix)} into the extensions folder (${installed}, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

/** Forgets the previous extension host's report (call before a session loads the workbench). */
export function clearHarnessReport(control: string): void {
  fs.rmSync(path.join(control, HARNESS_REPORT), { force: true });
}

/** Waits for the harness's report and checks that the extension under test is the installed .vsix, not a folder elsewhere. */
export async function checkInstalled(name: string, control: string, extensionsDir: string): Promise<void> {
  const p = current;
  if (!p) return;
  const file = path.join(control, HARNESS_REPORT);
  const report = await waitUntil(`${name}: the harness extension's report`, LIMITS.hostMs, () => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as { missing?: boolean; extensionPath?: string; version?: string; manifestHasScripts?: boolean };
    } catch {
      return undefined;
    }
  }, 200);
  if (report.missing) throw new E2EError(`${name}: ${p.id} is not in the extension host (the installed .vsix was not loaded)`);
  const where = path.resolve(report.extensionPath ?? '');
  const inside = path.relative(fs.realpathSync(extensionsDir), fs.realpathSync(where));
  if (inside.startsWith('..') || path.isAbsolute(inside)) {
    throw new E2EError(`${name}: the extension host runs ${p.id} from ${where}, not from the installed .vsix in ${extensionsDir}`);
  }
  if (report.manifestHasScripts) throw new E2EError(`${name}: ${p.id}'s manifest has "scripts": the repository's package.json, not the packaged one`);
  log(`${name}: ${p.id} ${report.version} runs from the installed .vsix (${path.join(path.basename(extensionsDir), inside)})`);
}
