/** The extension's settings validation (src/vscode/settings.ts): bad values → one warning and the default. */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEVICE_REQUESTS } from '../../src/engine/runtime/device';
import { GREEDY_BELOW } from '../../src/engine/decode/greedy';
import { packageRoot } from '../../src/models/catalog';
import {
  DEFAULT_SETTINGS, DEVICES, SETTING_KEYS, SettingsReader, languageDisabled, validateSettings,
} from '../../src/vscode/settings';

const from = (values: Record<string, unknown>) => (key: string) => values[key];

describe('validateSettings', () => {
  test('nothing set → the defaults, no problems', () => {
    const { settings, problems } = validateSettings(() => undefined);
    assert.deepEqual(settings, DEFAULT_SETTINGS);
    assert.equal(problems.length, 0);
  });

  test('the defaults themselves validate', () => {
    const { settings, problems } = validateSettings(from({ ...DEFAULT_SETTINGS }));
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, DEFAULT_SETTINGS);
  });

  test('good values are taken', () => {
    const { settings, problems } = validateSettings(from({
      enable: false, target: ' lockstep-target ', drafter: 'prompt-lookup+lockstep-drafter-a', coupling: 'wmh', seed: 42,
      temperature: 0, topP: 0.9, topK: 40, draftTokens: 6, maxTokens: 128, multiline: 'never', debounceMs: 0,
      contextTokens: 2048, device: 'cpu', threads: 2, modelsDir: '~/models', hubEndpoint: 'https://hf-mirror.com/',
      disabledLanguages: ['markdown', ' plaintext '],
    }));
    assert.deepEqual(problems, []);
    assert.equal(settings.enable, false);
    assert.equal(settings.target, 'lockstep-target');
    assert.equal(settings.coupling, 'wmh');
    assert.equal(settings.seed, 42);
    assert.equal(settings.temperature, 0);
    assert.equal(settings.draftTokens, 6);
    assert.equal(settings.hubEndpoint, 'https://hf-mirror.com');
    assert.deepEqual(settings.disabledLanguages, ['markdown', 'plaintext']);
  });

  const bad: [string, unknown][] = [
    ['enable', 'yes'],
    ['target', ''],
    ['target', 7],
    ['drafter', null],
    ['coupling', 'gumble'],
    ['seed', -1],
    ['seed', 1.5],
    ['seed', '7'],
    ['seed', 2 ** 53],
    ['temperature', -0.1],
    ['temperature', 'hot'],
    ['temperature', Number.NaN],
    ['topP', 0],
    ['topP', 1.01],
    ['topK', -3],
    ['topK', 2.5],
    ['draftTokens', 'many'],
    ['draftTokens', 33],
    ['draftTokens', -1],
    ['maxTokens', 0],
    ['maxTokens', 5000],
    ['multiline', 'sometimes'],
    ['debounceMs', -5],
    ['debounceMs', 1e9],
    ['contextTokens', 10],
    ['device', 'tpu'],
    ['threads', 100],
    ['modelsDir', 3],
    ['hubEndpoint', 'ftp://example.com'],
    ['hubEndpoint', 'not a url'],
    ['disabledLanguages', 'markdown'],
    ['disabledLanguages', [1, 2]],
    ['targetVariant', 'Q4'],
    ['targetVariant', '../model'],
    ['drafterVariant', 4],
  ];
  for (const [key, value] of bad) {
    test(`${key} = ${JSON.stringify(value)} → warning naming the setting, and the default`, () => {
      const { settings, problems } = validateSettings(from({ [key]: value }));
      assert.equal(problems.length, 1);
      assert.equal(problems[0].key, key);
      assert.match(problems[0].message, new RegExp(`"lockstep\\.${key}" must be`));
      assert.match(problems[0].message, /using the default/);
      assert.deepEqual((settings as unknown as Record<string, unknown>)[key], (DEFAULT_SETTINGS as unknown as Record<string, unknown>)[key]);
    });
  }

  test('targetVariant / drafterVariant: a variant name, or "" for automatic; a bad one says what a variant is', () => {
    const { settings, problems } = validateSettings(from({ targetVariant: ' q4 ', drafterVariant: '' }));
    assert.deepEqual(problems, []);
    assert.equal(settings.targetVariant, 'q4');
    assert.equal(settings.drafterVariant, '');
    const bad = validateSettings(from({ targetVariant: 'model_q4.onnx' })).problems;
    assert.equal(bad[0].message, 'Lockstep: setting "lockstep.targetVariant" must be a variant name such as "fp32", "q4", "q4f16", "fp16" or "int8" (onnx/model_<variant>.onnx), or "" for automatic (got "model_q4.onnx"); using the default "".');
  });

  test('one bad value leaves the others alone', () => {
    const { settings, problems } = validateSettings(from({ seed: 'x', temperature: 0.5, topK: 'lots' }));
    assert.deepEqual(problems.map((p) => p.key).sort(), ['seed', 'topK']);
    assert.equal(settings.temperature, 0.5);
    assert.equal(settings.seed, 0);
    assert.equal(settings.topK, 0);
  });

  test('a getter that returns odd objects never throws', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const { problems } = validateSettings(() => cyclic);
    assert.equal(problems.length, SETTING_KEYS.length);
  });
});

describe('SettingsReader', () => {
  test('warns once per bad value; a new bad value warns again', () => {
    const r = new SettingsReader();
    assert.equal(r.read(from({ topP: 2 })).warnings.length, 1);
    assert.equal(r.read(from({ topP: 2 })).warnings.length, 0);
    assert.equal(r.read(from({ topP: 2, seed: -4 })).warnings.length, 1);
    assert.equal(r.read(from({ topP: 3 })).warnings.length, 1);
    assert.equal(r.read(from({})).warnings.length, 0);
    assert.equal(r.history().length, 3);
  });

  test('the settings it returns are valid even with warnings', () => {
    const r = new SettingsReader();
    const { settings, warnings } = r.read(from({ maxTokens: 'a lot' }));
    assert.equal(warnings.length, 1);
    assert.equal(settings.maxTokens, DEFAULT_SETTINGS.maxTokens);
  });
});

describe('the device setting', () => {
  test('offers exactly the engine\'s device requests, in its order, as package.json does', () => {
    assert.deepEqual([...DEVICES], [...DEVICE_REQUESTS]);
    const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { enum?: string[]; enumDescriptions?: string[] }> } };
    };
    const device = manifest.contributes.configuration.properties['lockstep.device'];
    assert.deepEqual(device.enum, [...DEVICE_REQUESTS]);
    assert.equal(device.enumDescriptions?.length, DEVICE_REQUESTS.length);
  });
  test('every device request is accepted as it is (the engine decides, and falls back, when it loads)', () => {
    for (const d of DEVICE_REQUESTS) {
      const { settings, problems } = validateSettings(from({ device: d }));
      assert.equal(settings.device, d);
      assert.deepEqual(problems, []);
    }
  });
  test('an unknown device is refused with a warning naming the setting; the default is auto', () => {
    const { settings, problems } = validateSettings(from({ device: 'tpu' }));
    assert.equal(settings.device, 'auto');
    assert.match(problems[0].message, /"lockstep\.device" must be one of "auto", "cpu", "webgpu", "cuda", "dml", "coreml" \(got "tpu"\)/);
  });
});

describe('setting descriptions claim only what is measured, and say where', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { markdownDescription?: string; enumDescriptions?: string[] }> } };
  };
  const props = manifest.contributes.configuration.properties;
  const text = (key: string): string => props[`lockstep.${key}`].markdownDescription ?? '';

  test('no blanket promise of identical output for every thread count or device', () => {
    for (const [key, p] of Object.entries(props)) {
      for (const d of [p.markdownDescription ?? '', ...(p.enumDescriptions ?? [])]) {
        assert.doesNotMatch(d, /identical (output |text |completions )?(for|on|with) (every|all|any) (thread|device)/i, key);
        assert.doesNotMatch(d, /bitwise identical for every/i, key);
      }
    }
  });

  test('threads: what was measured (1 and 2 threads, CPU, shipped models), where, and how to check a machine', () => {
    const t = text('threads');
    assert.match(t, /1 and 2 threads/);
    assert.match(t, /CPU provider/);
    assert.match(t, /`test\/engine\/runtime\/model\.test\.ts`/);
    assert.match(t, /not measured/);
    assert.match(t, /--threads N/);
  });

  test('every file a setting cites as its evidence exists', () => {
    const cited = Object.keys(props).flatMap((k) => [...text(k.replace(/^lockstep\./, '')).matchAll(/`((?:test|bench|src|docs)\/[^`\s]+\.(?:ts|md))`/g)].map((m) => m[1]));
    assert.ok(cited.length > 0);
    assert.deepEqual(cited.filter((f) => !fs.existsSync(path.join(packageRoot(), f))), []);
  });

  test('drafter and device: measured on the CPU and WebGPU (software Vulkan); Verify is the judge elsewhere', () => {
    for (const key of ['drafter', 'device']) {
      const t = text(key);
      assert.match(t, /CPU/, key);
      assert.match(t, /WebGPU/, key);
      assert.match(t, /software Vulkan/, key);
      assert.match(t, /CUDA, DirectML and CoreML/, key);
      assert.match(t, /not measured/, key);
      assert.match(t, /Verify Drafter Invariance/, key);
    }
    assert.match(text('seed'), /same device and model variant/);
  });

  test('temperature: the greedy threshold is the engine\'s', () => {
    const m = /below `([0-9.e-]+)`/.exec(text('temperature'));
    assert.ok(m, text('temperature'));
    assert.equal(Number(m[1]), GREEDY_BELOW);
  });

  test('maxTokens and contextTokens: the cap to half the context', () => {
    assert.match(text('maxTokens'), /at most half of the target model's context/);
    assert.match(text('contextTokens'), /minus `#lockstep\.maxTokens#`/);
  });
});

test('languageDisabled: case-insensitive ids and "*"', () => {
  assert.equal(languageDisabled({ disabledLanguages: ['Markdown'] }, 'markdown'), true);
  assert.equal(languageDisabled({ disabledLanguages: ['markdown'] }, 'javascript'), false);
  assert.equal(languageDisabled({ disabledLanguages: ['*'] }, 'javascript'), true);
  assert.equal(languageDisabled({ disabledLanguages: [] }, 'javascript'), false);
});
