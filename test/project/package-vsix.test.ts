/**
 * The .vsix as users get it (scripts/package-vsix.mjs, `npm run package`): built for this machine's platform into a
 * temporary folder and read back from the zip — the short user-facing README (not the repository's research README)
 * as its page, the MIT LICENSE, every bundle the extension loads, the walkthrough's pages, and a manifest without the
 * npm-only fields.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const ROOT = path.join(__dirname, '..', '..', '..');
const PLATFORM = `${process.platform}-${process.arch}`;

/** The entries of a zip file (stored or deflated), by name. */
function readZip(file: string): Map<string, Buffer> {
  const zip = fs.readFileSync(file);
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, `${file}: not a zip file`);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, 'central directory entry');
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + compressed);
    entries.set(name, method === 0 ? data : zlib.inflateRawSync(data));
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

const SUPPORTED = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64'].includes(PLATFORM);

test('the packaged .vsix carries the short README, the LICENSE, every bundle and the walkthrough', { skip: !SUPPORTED && `no .vsix target for ${PLATFORM}` }, () => {
  for (const f of ['dist/extension.js', 'dist/engineProcess.js', 'dist/fusedWorker.js']) {
    if (!fs.existsSync(path.join(ROOT, f))) {
      execFileSync(process.execPath, [path.join(ROOT, 'esbuild.mjs')], { cwd: ROOT, stdio: 'inherit' });
      break;
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-vsix-'));
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'package-vsix.mjs'), '--out-dir', tmp, '--stage-dir', path.join(tmp, 'stage')], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      name: string; version: string; contributes: { walkthroughs?: { steps: { media?: { markdown?: string } }[] }[] };
    };
    const vsix = path.join(tmp, `${pkg.name}-${PLATFORM}-${pkg.version}.vsix`);
    const zip = readZip(vsix);
    const names = [...zip.keys()];

    // vsce stores the README as extension/readme.md and a LICENSE as extension/LICENSE.txt.
    const readmeName = names.find((n) => /^extension\/readme\.md$/i.test(n));
    assert.ok(readmeName, `no README in the .vsix: ${names.join(', ')}`);
    const readme = zip.get(readmeName)!.toString('utf8');
    assert.equal(readme, fs.readFileSync(path.join(ROOT, 'docs', 'extension-README.md'), 'utf8'));
    assert.ok(readme.split('\n').length <= 100, `the .vsix README has ${readme.split('\n').length} lines`);
    for (const must of ['code --install-extension', 'Install from VSIX', 'Lockstep: Set Up a Model', 'Qwen2.5-Coder', 'Privacy', 'demo']) {
      assert.ok(readme.includes(must), `the .vsix README does not mention ${must}`);
    }
    assert.notEqual(readme, fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));

    const licenseName = names.find((n) => /^extension\/LICENSE(\.txt|\.md)?$/i.test(n));
    assert.ok(licenseName, `no LICENSE in the .vsix: ${names.join(', ')}`);
    const license = zip.get(licenseName)!.toString('utf8');
    assert.equal(license, fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'));
    assert.match(license, /^MIT License/);
    assert.match(zip.get('extension.vsixmanifest')!.toString('utf8'), /Microsoft\.VisualStudio\.Services\.Content\.License/);

    for (const f of ['dist/extension.js', 'dist/engineProcess.js', 'dist/fusedWorker.js', 'models.json', 'media/icon.png',
      'node_modules/onnxruntime-node/package.json']) {
      assert.ok(zip.has(`extension/${f}`), `extension/${f} is not in the .vsix`);
    }
    for (const w of pkg.contributes.walkthroughs ?? []) {
      for (const s of w.steps) if (s.media?.markdown) assert.ok(zip.has(`extension/${s.media.markdown}`), `walkthrough page ${s.media.markdown} is not in the .vsix`);
    }

    const manifest = JSON.parse(zip.get('extension/package.json')!.toString('utf8')) as Record<string, unknown>;
    for (const k of ['scripts', 'devDependencies', 'files', 'bin', 'allowScripts']) assert.equal(manifest[k], undefined, `the .vsix package.json has "${k}"`);
    assert.equal(manifest.license, 'MIT');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
