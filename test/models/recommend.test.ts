/**
 * The first-run recommendation (src/models/recommend.ts) on the shipped catalog for typical machines, and the extra
 * catalog that adds a team's models next to the shipped ones (src/models/catalogMerge.ts).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCatalog } from '../../src/models/catalog';
import { withExtraCatalog } from '../../src/models/catalogMerge';
import { demoNotice, languageMismatch } from '../../src/models/modelNotices';
import { type Hardware, recommendSetup } from '../../src/models/recommend';
import { catalogOf, hubEntry } from '../helpers/catalogEntries';

const GB = 1e9;
const machine = (over: Partial<Hardware>): Hardware => ({ totalRamBytes: 16 * GB, freeDiskBytes: 200 * GB, cores: 8, device: 'cpu', ...over });
const shipped = () => loadCatalog().models;

test('a 2-core laptop gets the 0.5B in q4; 8 cores the 1.5B; a a GPU takes the largest that fits memory, with a drafter model', () => {
  const small = recommendSetup(shipped(), machine({ cores: 2, totalRamBytes: 8 * GB }));
  assert.equal(small.best?.entry.id, 'qwen2.5-coder-0.5b-instruct');
  assert.equal(small.best?.variant, 'q4');
  assert.equal(small.drafter, undefined, 'on the CPU no drafter model is fetched');
  assert.match(small.reason, /8\.0 GB RAM, 2 cores/);
  assert.match(small.reason, /qwen2.5-coder-1.5b too slow for ghost text on 2 CPU cores/);
  assert.equal(small.candidates[0], small.best, 'the recommendation comes first');
  const mid = recommendSetup(shipped(), machine({ cores: 8 }));
  assert.equal(mid.best?.entry.id, 'qwen2.5-coder-1.5b');
  const gpu = recommendSetup(shipped(), machine({ cores: 8, totalRamBytes: 32 * GB, device: 'webgpu' }));
  assert.equal(gpu.best?.entry.id, 'qwen2.5-coder-3b-instruct');
  assert.equal(gpu.best?.variant, 'q4f16');
  assert.equal(gpu.drafter?.entry.id, 'qwen2.5-coder-0.5b-instruct');
  const gpu8 = recommendSetup(shipped(), machine({ totalRamBytes: 8 * GB, device: 'cuda' }));
  assert.equal(gpu8.best?.entry.id, 'qwen2.5-coder-0.5b-instruct', 'fp16 on CUDA: the 1.5B needs 4.7 GB of 8');
  const gpu15 = recommendSetup(shipped(), machine({ totalRamBytes: 16 * GB, device: 'cuda' }));
  assert.equal(gpu15.best?.entry.id, 'qwen2.5-coder-1.5b');
  assert.equal(gpu15.drafter?.entry.id, 'qwen2.5-coder-0.5b-instruct');
});

test('memory and disk rule models out, with the reason; nothing fits: no recommendation, the smallest named', () => {
  const tight = recommendSetup(shipped(), machine({ totalRamBytes: 2 * GB }));
  assert.equal(tight.best, undefined);
  assert.match(tight.reason, /no catalog target fits \(the smallest, qwen2.5-coder-0.5b-instruct, needs about 1\.3 GB of memory/);
  const disk = recommendSetup(shipped(), machine({ freeDiskBytes: 3 * GB }));
  assert.equal(disk.best?.entry.id, 'qwen2.5-coder-0.5b-instruct');
  assert.match(disk.candidates.find((c) => c.entry.id === 'qwen2.5-coder-1.5b')?.unfit ?? '', /disk/);
  assert.ok(!disk.candidates.some((c) => c.entry.demo === true), 'demo models are never recommended');
});

test('an extra catalog adds its models; a repeated id or a broken file costs only its own entries', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-extra-'));
  const file = path.join(dir, 'team.json');
  fs.writeFileSync(file, JSON.stringify(catalogOf({ ...hubEntry(), id: 'team-coder' }, { ...hubEntry(), id: 'qwen2.5-coder-1.5b' })));
  const merged = withExtraCatalog(loadCatalog(), file);
  assert.ok(merged.models.some((m) => m.id === 'team-coder'));
  assert.equal(merged.models.filter((m) => m.id === 'qwen2.5-coder-1.5b').length, 1);
  assert.equal(merged.models.find((m) => m.id === 'qwen2.5-coder-1.5b')?.repo, 'onnx-community/Qwen2.5-Coder-1.5B');
  assert.ok(merged.warnings.some((w) => /id "qwen2.5-coder-1.5b" is already in the shipped catalog/.test(w)));
  fs.writeFileSync(file, '{ not json');
  const broken = withExtraCatalog(loadCatalog(), file);
  assert.deepEqual(broken.models.map((m) => m.id), loadCatalog().models.map((m) => m.id));
  assert.ok(broken.warnings.some((w) => /the extra catalog cannot be used: .*not valid JSON/.test(w)));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the demo target is named a demo with the way out; a language outside the model is named', () => {
  const target = loadCatalog().models.find((m) => m.id === 'lockstep-target');
  assert.match(demoNotice(target, 'cli') ?? '', /^lockstep-target is a 7\.3M-parameter demo of the engine trained on JavaScript\/TypeScript only.*lockstep download qwen2\.5-coder-1\.5b/);
  assert.match(demoNotice(target, 'editor') ?? '', /Lockstep: Set Up a Model/);
  assert.equal(demoNotice(loadCatalog().models.find((m) => m.id === 'qwen2.5-coder-1.5b'), 'cli'), undefined);
  assert.match(languageMismatch(target, 'python') ?? '', /trained on JavaScript\/TypeScript only, not Python/);
  assert.match(languageMismatch(target, 'python', 'cli') ?? '', /wrong language here \(completing anyway, as asked\)\.$/);
  assert.equal(languageMismatch(target, 'typescriptreact'), undefined);
  assert.equal(languageMismatch(loadCatalog().models.find((m) => m.id === 'qwen2.5-coder-1.5b'), 'python'), undefined);
});
