/**
 * The set-up scripts CI runs on a fresh machine (test/e2e/setup.sh, test/webgpu/setup.sh), in the parts a warm cache
 * hides: the inner npm install of code-server must not inherit the outer `npm run`'s environment, and apt must wait
 * for a dpkg lock held by another apt instead of failing. And the repository's own npm configuration: no warning on
 * every npm command, and the install scripts `npm ci` runs declared the way npm 11 expects (package.json allowScripts).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const NPM_ENV = path.join(ROOT, 'test', 'e2e', 'npm-env.sh');
const APT_INSTALL = path.join(ROOT, 'test', 'apt-install.sh');

/** What an outer `npm run` under Node 20 exports (the variables code-server's postinstall and node-gyp read). */
const OUTER_NPM = {
  npm_config_user_agent: 'npm/11.0.0 node/v20.0.0 linux x64 workspaces/false',
  npm_config_node_gyp: '/nonexistent/node-gyp/bin/node-gyp.js',
  npm_config_nodedir: '/nonexistent/node20-headers',
  npm_lifecycle_event: 'test:e2e',
  npm_package_name: 'lockstep',
  NODE: '/nonexistent/node20',
  INIT_CWD: '/nonexistent',
};

function bash(script: string, env: NodeJS.ProcessEnv): string {
  return execFileSync('bash', ['-c', script], { env, encoding: 'utf8' });
}

test('the inner npm of the e2e setup drops every variable of the outer npm run', () => {
  const env = { ...process.env, ...OUTER_NPM };
  const seen = bash(
    `source '${NPM_ENV}'; "\${npm_env[@]}" node -e 'console.log(JSON.stringify(process.env))'`,
    env,
  );
  const inner = JSON.parse(seen) as Record<string, string>;
  for (const name of Object.keys(OUTER_NPM)) assert.equal(inner[name], undefined, `${name} leaked into the inner npm`);
  assert.equal(inner.npm_config_yes, 'true');
  assert.equal(inner.npm_config_ignore_scripts, 'false');
  // A lifecycle script of the inner npm (code-server's postinstall is one) sees the Node it runs on.
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-npm-env-'));
  try {
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({
      name: 'probe', private: true, scripts: { agent: 'node -e "console.log(process.env.npm_config_user_agent)"' },
    }));
    const agent = bash(`source '${NPM_ENV}'; cd '${pkg}' && "\${npm_env[@]}" npm run -s agent`, env).trim();
    assert.ok(agent.includes(`node/${process.version} `), agent);
  } finally {
    fs.rmSync(pkg, { recursive: true, force: true });
  }
});

test('apt waits for the dpkg lock (update and install)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-apt-'));
  const calls = path.join(dir, 'calls');
  // A stand-in apt-get (and sudo, for a non-root run) that records its arguments.
  fs.writeFileSync(path.join(dir, 'apt-get'), `#!/bin/sh\necho "$*" >> '${calls}'\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'sudo'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
  try {
    bash(`log() { :; }; source '${APT_INSTALL}'; apt_install NO_SKIP_VAR some-package`, {
      ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}`,
    });
    const lines = fs.readFileSync(calls, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0], /DPkg::Lock::Timeout=\d+ .*update/);
    assert.match(lines[1], /DPkg::Lock::Timeout=\d+ .*install .*some-package/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs npm in the repository; stdout, stderr and the exit status. */
function npmHere(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npm', args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

test("npm prints no warning about the project's own configuration", () => {
  // An .npmrc key npm does not know (onnxruntime-node-install=skip used to be one) warns on every npm command.
  const r = npmHere(['config', 'get', 'registry']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /project config|npmrc/i, r.stderr);
});

test('allowScripts covers every install script, and onnxruntime-node (CUDA download) is denied', (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  // onnxruntime-node's postinstall downloads its CUDA libraries from NuGet on Linux x64; the CPU and WebGPU providers
  // the engine uses are bundled, and CUDA is opt-in (docs/models.md, "onnxruntime-node and CUDA").
  assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
  for (const name of ['esbuild', 'node-llama-cpp']) assert.equal(pkg.allowScripts?.[name], true, `${name}'s install script must run`);
  const r = npmHere(['install-scripts', 'ls']);
  if (r.status !== 0 && /unknown command|Usage/i.test(r.stderr + r.stdout)) {
    t.skip(`this npm (${spawnSync('npm', ['--version'], { encoding: 'utf8' }).stdout.trim()}) has no install-script policy`);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /No packages with unreviewed install scripts/, r.stdout);
  assert.doesNotMatch(r.stderr, /npm warn/i, r.stderr);
});
