/**
 * `lockstep complete` on the shipped models: --device and its CPU fallback, --json and plain output, file positions
 * and stdin, the same bytes with every drafter form and with every temperature below 1e-6, --max-tokens capped to the
 * target's context, and drafters refused for another tokenizer (a changed vocabulary, another catalog family).
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../src/models/catalog';
import { writeCatalogDir } from '../helpers/catalogDir';
import { PREFIX, SUFFIX, assertOneLineError, fixturePos, run } from '../helpers/cli';

const root = packageRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('lockstep complete', () => {
  test('--device names the provider; one this build lacks falls back to the CPU and stderr says why', async () => {
    const base = ['complete', '--prefix', PREFIX, '--json', '--max-tokens', '4', '--drafter', 'none', '--temperature', '0'];
    const cpu = await run(...base, '--device', 'cpu');
    assert.equal(cpu.code, 0, cpu.stderr);
    assert.equal(JSON.parse(cpu.stdout).device, 'cpu');
    assert.equal(cpu.stderr, '');
    const missing = process.platform === 'win32' ? 'coreml' : 'dml';
    const r = await run(...base, '--device', missing);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).device, 'cpu');
    assert.match(r.stderr, new RegExp(`^lockstep: device cpu \\(asked: ${missing}\\); ${missing}: onnxruntime-node on .* has no ${missing} execution provider\n$`));
    assert.equal(JSON.parse(r.stdout).text, JSON.parse(cpu.stdout).text);
    assertOneLineError(await run(...base, '--device', 'tpu'), /--device.*tpu|tpu.*--device/);
  });

  test('--json prints one object with the result fields and non-empty text', async () => {
    const r = await run('complete', '--prefix', PREFIX, '--suffix', SUFFIX, '--json', '--max-tokens', '12', '--mode', 'free', '--temperature', '0');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'one JSON object on one line');
    const j = JSON.parse(lines[0]) as Record<string, unknown>;
    for (const k of ['text', 'tokens', 'targetCalls', 'drafted', 'accepted', 'seconds', 'acceptance', 'tokensPerSecond', 'drafter', 'seed', 'stopReason']) {
      assert.ok(k in j, `missing field ${k}`);
    }
    assert.equal(typeof j.text, 'string');
    assert.ok((j.text as string).length > 0, 'empty completion');
    assert.ok((j.tokens as number) >= 1 && (j.tokens as number) <= 12);
    assert.ok((j.targetCalls as number) >= 1);
    assert.equal(j.drafter, 'lockstep-drafter-b', 'default drafter is the target\'s first recommended drafter');
    assert.equal(j.seed, 0);
  });

  test('plain output: the text on stdout, one stats line on stderr (then the demo target\'s notice); file positions work', async () => {
    const r = await run('complete', fixturePos, '--max-tokens', '8', '--drafter', 'prompt-lookup', '--seed', '7');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0], /\d+ tokens · [\d.]+ tokens\/s · acceptance .* · \d+ target calls · target lockstep-target \(demo model.*\) · drafter prompt-lookup · seed 7/);
    assert.match(lines[1], /^lockstep: lockstep-target is a .*demo/);
  });

  test('the same request gives the same bytes with every drafter form', async () => {
    const texts = new Set<string>();
    for (const d of ['none', 'prompt-lookup', 'lockstep-drafter-a', 'models/lockstep-drafter-b', 'prompt-lookup+lockstep-drafter-a']) {
      const r = await run('complete', '--prefix', PREFIX, '--suffix', SUFFIX, '--json', '--max-tokens', '10', '--mode', 'free', '--temperature', '0.9', '--seed', '3', '--drafter', d, '--gamma', '3');
      assert.equal(r.code, 0, r.stderr);
      texts.add((JSON.parse(r.stdout) as { text: string }).text);
    }
    assert.equal(texts.size, 1, [...texts].map((t) => JSON.stringify(t)).join(' vs '));
  });

  test('--temperature 1e-308 (or any T below 1e-6) gives the bytes of --temperature 0, with both couplings', async () => {
    for (const coupling of ['gumbel', 'wmh']) {
      const texts: string[] = [];
      for (const T of ['0', '1e-308', '1e-320', '5e-7']) {
        const r = await run('complete', '--prefix', PREFIX, '--suffix', SUFFIX, '--json', '--max-tokens', '12', '--mode', 'free',
          '--temperature', T, '--coupling', coupling, '--drafter', 'none', '--seed', '5');
        assert.equal(r.code, 0, r.stderr);
        texts.push((JSON.parse(r.stdout) as { text: string }).text);
      }
      assert.ok(texts[0].length > 0);
      assert.deepEqual(texts, [texts[0], texts[0], texts[0], texts[0]], `${coupling}: ${texts.map((t) => JSON.stringify(t)).join(' vs ')}`);
    }
  });

  test('--max-tokens 4096 on the 512-position target: capped at 256, the prompt kept whole, stderr says so once', async () => {
    const args = ['complete', '--prefix', PREFIX, '--suffix', SUFFIX, '--json', '--mode', 'line', '--temperature', '0', '--drafter', 'none'];
    const small = await run(...args, '--max-tokens', '64');
    assert.equal(small.code, 0, small.stderr);
    assert.equal(small.stderr, '');
    const big = await run(...args, '--max-tokens', '4096');
    assert.equal(big.code, 0, big.stderr);
    const lines = big.stderr.split('\n').filter((l) => l !== '');
    assert.deepEqual(lines, ['lockstep: maxTokens 4096 does not fit the target\'s context of 512 positions next to a prompt: ' +
      'completions are capped at 256 tokens (half the context), leaving 240 tokens for the prompt']);
    const a = JSON.parse(small.stdout) as { promptTokens: number; text: string; maxTokensUsed: number };
    const b = JSON.parse(big.stdout) as { promptTokens: number; text: string; maxTokensUsed: number; promptBudget: number; maxTokens: number };
    assert.ok(a.promptTokens > 30, `the whole prompt: ${a.promptTokens} tokens`);
    assert.equal(b.promptTokens, a.promptTokens, 'the prompt was cut');
    assert.equal(b.text, a.text);
    assert.equal(b.maxTokensUsed, 256);
    assert.equal(b.promptBudget, 240);
    assert.equal(b.maxTokens, 4096, 'the JSON keeps the requested value');
    assert.equal(a.maxTokensUsed, 64);
  });

  test('stdin: "-" is the text before the cursor', async () => {
    const r = await run('complete', '-', '--json', '--max-tokens', '4', '--drafter', 'none');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).promptTokens > 3);
  });

  test('a drafter directory whose tokenizer differs is refused', async () => {
    const src = path.join(root, 'models', 'lockstep-drafter-a');
    const dir = path.join(tmp, 'odd-tokenizer');
    fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    for (const f of ['config.json', 'generation_config.json', 'tokenizer_config.json', path.join('onnx', 'model.onnx')]) {
      fs.copyFileSync(path.join(src, f), path.join(dir, f));
    }
    const tok = JSON.parse(fs.readFileSync(path.join(src, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
    const keys = Object.keys(tok.model.vocab);
    const [a, b] = [keys[300], keys[301]];
    [tok.model.vocab[a], tok.model.vocab[b]] = [tok.model.vocab[b], tok.model.vocab[a]];
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tok));
    assertOneLineError(await run('complete', '--prefix', PREFIX, '--drafter', dir), /different tokenizer/);
    // The unmodified copy is accepted, so the refusal above is about the vocabulary and nothing else.
    fs.copyFileSync(path.join(src, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    const ok = await run('complete', '--prefix', PREFIX, '--drafter', dir, '--max-tokens', '4', '--json');
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('a catalog drafter of another tokenizer family is refused before loading', async () => {
    const cat = JSON.parse(fs.readFileSync(path.join(root, 'models.json'), 'utf8'));
    cat.models.push({ id: 'alien', role: 'drafter', family: 'other-vocab', bundled: 'models/lockstep-drafter-a' });
    const file = writeCatalogDir(path.join(tmp, 'family'), cat);
    assertOneLineError(await run('complete', '--prefix', 'x', '--catalog', file, '--drafter', 'alien'), /drafter 'alien' \(tokenizer family other-vocab\) cannot draft for target 'lockstep-target'/);
  });
});
