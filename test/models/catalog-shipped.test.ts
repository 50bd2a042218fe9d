/**
 * The shipped models.json: valid against its schema, every bundled model present, recommended drafters usable,
 * deviceVariants as documented, and the Qwen2.5-Coder entries' file lists complete with every unchecked fact marked.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { filesFor, isDownloadable, loadCatalog, packageRoot, resolveModelDir } from '../../src/models/catalog';
import { onnxFileFor } from '../../src/engine/runtime/modelDir';
import { shipped } from '../helpers/catalogEntries';
import { schema, valid } from '../helpers/modelsSchema';

const root = packageRoot();

describe('the shipped models.json', () => {
  const catalog = loadCatalog();

  test('is valid, points at its schema, and every bundled model is present', () => {
    const raw = shipped();
    assert.deepEqual(catalog.warnings, []);
    assert.equal(catalog.models.length, raw.models.length);
    assert.equal(raw.$schema, './models.schema.json');
    assert.ok(fs.existsSync(path.join(root, raw.$schema)));
    assert.equal(valid(schema, raw), true);
    const bundled = catalog.models.filter((m) => m.bundled !== undefined);
    assert.ok(bundled.length >= 3);
    for (const m of bundled) {
      const dir = resolveModelDir(m.id, catalog);
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
        assert.ok(fs.existsSync(path.join(dir, f)), `${m.id}: ${f}`);
      }
    }
  });

  test('recommended drafters exist, can draft, and share the target\'s family', () => {
    for (const m of catalog.models) {
      for (const d of m.recommendedDrafters ?? []) {
        const other = catalog.models.find((x) => x.id === d);
        assert.ok(other, `${m.id} → ${d}`);
        assert.notEqual(other.role, 'target');
        assert.equal(other.family, m.family);
      }
    }
  });

  test('deviceVariants: q4 on the CPU, q4f16 on WebGPU, fp16 elsewhere for Qwen2.5-Coder; none for bundled models', () => {
    for (const m of catalog.models) {
      if (m.bundled !== undefined) {
        assert.equal(m.deviceVariants, undefined, m.id);
        continue;
      }
      assert.deepEqual(m.deviceVariants, { cpu: 'q4', webgpu: 'q4f16', cuda: 'fp16', dml: 'fp16', coreml: 'fp16' }, m.id);
    }
  });

  test('exactness labels: dynamic int8 is marked never exact, with why; the default variant is q4 (exact on the CPU)', () => {
    for (const m of catalog.models.filter(isDownloadable)) {
      assert.equal(m.defaultVariant, 'q4', m.id);
      for (const [name, v] of Object.entries(m.variants ?? {})) {
        assert.equal(v.exact, name === 'int8' ? false : undefined, `${m.id} ${name}`);
        if (name === 'int8') assert.match(v.inexact ?? '', /one activation scale per call/);
      }
    }
  });

  test('the Qwen2.5-Coder pair: complete file lists, and every unchecked fact marked as such', () => {
    const target = catalog.models.find((m) => m.repo === 'onnx-community/Qwen2.5-Coder-1.5B');
    const drafter = catalog.models.find((m) => m.repo === 'onnx-community/Qwen2.5-Coder-0.5B-Instruct');
    assert.ok(target && drafter);
    assert.equal(target.role, 'target');
    assert.deepEqual(target.recommendedDrafters?.[0], drafter.id);
    for (const m of catalog.models.filter(isDownloadable)) {
      assert.equal(m.fim, 'qwen2.5-coder');
      assert.ok(m.defaultVariant, `${m.id}: defaultVariant`);
      for (const v of Object.keys(m.variants ?? {})) {
        const files = filesFor(m, v);
        const paths = files.map((f) => f.path);
        for (const need of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', `onnx/${onnxFileFor(v)}`, `onnx/${onnxFileFor(v)}_data`]) {
          assert.ok(paths.includes(need), `${m.id} ${v}: ${need}`);
        }
        for (const f of files) {
          if (f.path === `onnx/${onnxFileFor(v)}` || ['config.json', 'tokenizer.json', 'tokenizer_config.json'].includes(f.path)) {
            assert.equal(f.optional, false, `${m.id} ${v}: ${f.path} is required`);
          }
        }
        // Nothing invented: an entry with any unknown hash, size or commit says so.
        const unchecked = !/^[0-9a-f]{40}$/.test(m.commit!) || files.some((f) => f.sha256 === null || f.size === null);
        if (unchecked) assert.equal(m.verify, 'on-first-download', `${m.id}: unchecked facts must be marked`);
      }
    }
  });
});
