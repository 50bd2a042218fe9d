/**
 * The CLI, run in-process through main() with captured output, on the shipped models; plus its parser, the
 * cursor arithmetic and the model catalog.
 */
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../src/cli/main';
import { splitAtCursor, fixturePrompts, parsePosition } from '../src/cli/prompts';
import * as A from '../src/cli/args';
import { writeCatalogDir } from './helpers/catalogDir';
import { demoCursor, CURSOR_AFTER } from '../src/cli/demo';
import {
  CatalogError, loadCatalog, packageRoot, resolveModelDir, validateCatalog, entryStatus, findEntry,
} from '../src/models/catalog';

const root = packageRoot();
const fixture = path.join(root, 'test', 'fixtures', fs.readdirSync(path.join(root, 'test', 'fixtures')).sort()[0]);
/** A code line inside a block of the first fixture: its 1-based line and the column after its indentation. */
const fixtureLine = (() => {
  const lines = fs.readFileSync(fixture, 'utf8').split('\n');
  const i = lines.findIndex((l, k) => k > 10 && /^[ \t]+[A-Za-z_$]/.test(l));
  return { line: i + 1, col: /^[ \t]*/.exec(lines[i])![0].length + 1 };
})();
const fixturePos = `${fixture}:${fixtureLine.line}:${fixtureLine.col}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    readStdin: async () => 'function square(x) {\n  return ',
    cwd: root,
  });
  return { code, stdout, stderr };
}

/** A failure: non-zero exit, exactly one line on stderr, "lockstep: …", no stack trace. */
function assertOneLineError(r: Run, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure, got exit 0 with ${r.stdout}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `expected one stderr line, got:\n${r.stderr}`);
  assert.match(lines[0], /^lockstep: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'stack trace printed without --debug');
  assert.match(lines[0], pattern);
}

const PREFIX = 'function sum(values) {\n  let total = 0;\n  for (const v of values) {\n    total += ';
const SUFFIX = '\n  }\n  return total;\n}\n';

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

  test('plain output: the text on stdout, one stats line on stderr; file positions work', async () => {
    const r = await run('complete', fixturePos, '--max-tokens', '8', '--drafter', 'prompt-lookup', '--seed', '7');
    assert.equal(r.code, 0, r.stderr);
    const stats = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(stats.length, 1, r.stderr);
    assert.match(stats[0], /\d+ tokens · [\d.]+ tokens\/s · acceptance .* · \d+ target calls · drafter prompt-lookup · seed 7/);
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

  test('bad option, bad values and bad usage → one line, no stack', async () => {
    assertOneLineError(await run('complete', '--bogus', 'x'), /unknown option --bogus/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--temperature', '-1'), /--temperature must be a number ≥ 0/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--top-p', '0'), /--top-p must be a number in \(0, 1\]/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--gamma', '33'), /--gamma/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--coupling', 'best'), /--coupling must be one of gumbel, wmh, standard/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--seed'), /--seed needs a value/);
    assertOneLineError(await run('complete'), /nothing to complete/);
    assertOneLineError(await run('frobnicate'), /unknown command 'frobnicate'/);
  });

  test('missing model directory / not a model directory / unknown drafter → one line', async () => {
    assertOneLineError(await run('complete', '--prefix', 'x', '--target', path.join(tmp, 'no-such-model')), /unknown model '.*no-such-model': not a catalog id \(known: lockstep-target.*\) and not a directory/);
    fs.mkdirSync(path.join(tmp, 'empty-dir'), { recursive: true });
    assertOneLineError(await run('complete', '--prefix', 'x', '--target', path.join(tmp, 'empty-dir')), /config\.json is missing/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--drafter', 'nosuch'), /drafter: unknown model 'nosuch'/);
  });

  test('line or column out of range, unreadable file → one line', async () => {
    assertOneLineError(await run('complete', `${fixture}:9999:1`), /line 9999 is out of range \(the file has \d+ lines\)/);
    assertOneLineError(await run('complete', `${fixture}:1:500`), /column 500 is out of range/);
    assertOneLineError(await run('complete', path.join(tmp, 'nope.js:1:1')), /cannot read .*nope\.js: no such file/);
    assertOneLineError(await run('complete', 'no-position.js'), /expected <file>:<line>:<col>/);
  });

  test('--debug adds the stack', async () => {
    const r = await run('complete', `${fixture}:9999:1`, '--debug');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^lockstep: .*out of range.*\n/);
    assert.match(r.stderr, /\n\s+at /);
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

describe('lockstep verify', () => {
  test('--json on 2 cases: every comparison identical, exit 0', async () => {
    const r = await run('verify', '--cases', '2', '--json', '--max-tokens', '10', '--gamma', '1,4');
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
    const j = JSON.parse(r.stdout) as { cases: number; identical: number; mismatches: unknown[]; caseCount: number; drafters: string[] };
    assert.equal(j.caseCount, 2);
    // 2 cases × 2 couplings × 2 temperatures × (2 shipped drafters + prompt-lookup) × 2 γ
    assert.equal(j.cases, 2 * 2 * 2 * 3 * 2);
    assert.equal(j.identical, j.cases);
    assert.deepEqual(j.mismatches, []);
    assert.deepEqual([...j.drafters].sort(), ['lockstep-drafter-a', 'lockstep-drafter-b', 'prompt-lookup']);
  });

  test('plain output ends with the verdict line', async () => {
    const r = await run('verify', '--cases', '1', '--max-tokens', '6', '--gamma', '2', '--temperature', '0.5', '--coupling', 'wmh', '--drafter', 'lockstep-drafter-a');
    assert.equal(r.code, 0, r.stderr);
    const last = r.stdout.trim().split('\n').at(-1)!;
    assert.equal(last, 'verdict: IDENTICAL — all 1 comparisons gave byte-identical text (1 cases × 1 couplings × 1 temperatures × 1 drafters × 1 γ)');
  });

  test('the non-invariant standard coupling is caught: mismatches listed, exit 1', async () => {
    const r = await run('verify', '--cases', '3', '--json', '--coupling', 'standard', '--temperature', '1', '--max-tokens', '24', '--drafter', 'lockstep-drafter-a', '--gamma', '4', '--file', fixturePos);
    const j = JSON.parse(r.stdout) as { cases: number; identical: number; mismatches: Record<string, unknown>[] };
    assert.equal(j.cases, 3);
    assert.ok(j.mismatches.length > 0, 'standard speculative sampling changed no text at T=1 — suspicious');
    assert.equal(r.code, 1);
    const m = j.mismatches[0];
    for (const k of ['prompt', 'seed', 'coupling', 'temperature', 'gamma', 'drafter', 'expected', 'actual']) assert.ok(k in m, `mismatch lacks ${k}`);
    assert.notEqual(m.expected, m.actual);
    assert.equal(j.identical + j.mismatches.length, j.cases);
  });

  test('a maxTokens the context cannot hold is capped and reported once on stderr', async () => {
    const r = await run('verify', '--cases', '2', '--drafter', 'prompt-lookup', '--gamma', '2', '--coupling', 'gumbel,wmh',
      '--temperature', '0', '--mode', 'line', '--max-tokens', '4096', '--json');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^lockstep: maxTokens 4096 does not fit the target's context of 512 positions/);
    assert.deepEqual((JSON.parse(r.stdout) as { notes: string[] }).notes, [lines[0].slice('lockstep: '.length)]);
  });

  test('bad verify options → one line', async () => {
    assertOneLineError(await run('verify', '--cases', '0'), /--cases must be an integer ≥ 1/);
    assertOneLineError(await run('verify', '--gamma', '1,x'), /--gamma must be an integer from 0 to 32 or "auto"/);
    assertOneLineError(await run('verify', '--file', `${fixture}:0:1`), /line 0 is out of range/);
  });
});

describe('help and version', () => {
  test('--help, help <cmd>, --version', async () => {
    const h = await run('--help');
    assert.equal(h.code, 0);
    assert.match(h.stdout, /lockstep complete <file>:<line>:<col>/);
    const hc = await run('help', 'verify');
    assert.match(hc.stdout, /--cases N/);
    const v = await run('--version');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    assert.equal(v.stdout.trim(), `lockstep ${pkg.version}`);
  });
});

describe('argument parser', () => {
  const defs = {
    json: A.flag(),
    seed: A.single(A.seed),
    'top-p': A.single(A.topP),
    'top-k': A.single(A.topK),
    gamma: A.repeated(A.gamma),
    temperature: A.repeated(A.temperature),
    'max-tokens': A.single(A.maxTokens),
    threads: A.single(A.threads),
    cases: A.single(A.positiveInt),
    name: A.single(A.str),
  };
  const parse = (...argv: string[]) => A.parseArgs(argv, defs);

  test('forms: --a v, --a=v, flags, repeats, comma lists, positionals, --', () => {
    const p = parse('x', '--seed', '5', '--top-p=0.5', '--json', '--gamma', '1,auto', '--gamma=6', '--temperature', '0', 'y', '--', '--json');
    assert.equal(p.options.seed, 5);
    assert.equal(p.options['top-p'], 0.5);
    assert.equal(p.options.json, true);
    assert.deepEqual(p.options.gamma, [1, 'auto', 6]);
    assert.deepEqual(p.options.temperature, [0]);
    assert.deepEqual(p.positionals, ['x', 'y', '--json']);
    assert.equal(parse().options.json, false);
    assert.equal(parse().options.seed, undefined);
    assert.equal(parse('--name', '--weird').options.name, '--weird');
  });

  test('ranges', () => {
    const bad = (argv: string[], re: RegExp) => assert.throws(() => parse(...argv), (e: Error) => e instanceof A.UsageError && re.test(e.message));
    bad(['--unknown'], /unknown option --unknown/);
    bad(['--json=1'], /--json takes no value/);
    bad(['--seed', '1', '--seed', '2'], /given more than once/);
    bad(['--seed', '-1'], /--seed/);
    bad(['--seed', '1.5'], /--seed/);
    bad(['--seed', String(2 ** 53)], /--seed/);
    assert.equal(parse('--seed', String(2 ** 53 - 1)).options.seed, 2 ** 53 - 1);
    bad(['--seed', '0x10'], /--seed must be an integer from 0 to 2\^53−1 \(got "0x10"\)/);
    bad(['--top-p', 'abc'], /--top-p must be a number in \(0, 1\] \(got "abc"\)/);
    bad(['--top-p', '0'], /--top-p/);
    bad(['--top-p', '1.01'], /--top-p/);
    assert.equal(parse('--top-p', '1').options['top-p'], 1);
    bad(['--top-k', '2.5'], /--top-k/);
    bad(['--top-k', '-1'], /--top-k/);
    assert.equal(parse('--top-k', '0').options['top-k'], 0);
    bad(['--gamma', '33'], /--gamma/);
    bad(['--gamma', '-1'], /--gamma/);
    assert.deepEqual(parse('--gamma', '0,32').options.gamma, [0, 32]);
    bad(['--temperature', '-0.1'], /--temperature/);
    bad(['--temperature', 'Infinity'], /--temperature/);
    bad(['--max-tokens', '0'], /--max-tokens/);
    bad(['--max-tokens', '4097'], /--max-tokens/);
    assert.equal(parse('--max-tokens', '4096').options['max-tokens'], 4096);
    bad(['--threads', '65'], /--threads/);
    assert.equal(parse('--threads', '0').options.threads, 0);
    bad(['--cases', '0'], /--cases/);
    bad(['--gamma', '1,,2'], /empty item/);
  });
});

describe('cursor positions', () => {
  test('splitAtCursor: 1-based line/col, end of line, CRLF, astral characters', () => {
    const t = 'ab\r\ncd\n😀x\n';
    assert.deepEqual(splitAtCursor(t, 1, 1, 't'), { label: 't', before: '', after: t });
    assert.equal(splitAtCursor(t, 1, 3, 't').before, 'ab');
    assert.throws(() => splitAtCursor(t, 1, 4, 't'), /column 4 is out of range \(line 1 has 2 characters; use 1..3\)/);
    assert.equal(splitAtCursor(t, 2, 2, 't').before, 'ab\r\nc');
    assert.equal(splitAtCursor(t, 3, 2, 't').before, 'ab\r\ncd\n😀');
    assert.equal(splitAtCursor(t, 4, 1, 't').after, '');
    assert.throws(() => splitAtCursor(t, 5, 1, 't'), /line 5 is out of range \(the file has 4 lines\)/);
    assert.deepEqual(parsePosition('C:\\src\\a.js:3:4'), { file: 'C:\\src\\a.js', line: 3, col: 4 });
    assert.equal(parsePosition('a.js:3'), undefined);
  });

  test('fixture prompts are deterministic lines inside blocks', () => {
    const a = fixturePrompts(5);
    const b = fixturePrompts(5);
    assert.deepEqual(a, b);
    assert.equal(new Set(a.map((p) => p.label)).size, 5);
    for (const p of a) {
      assert.match(p.before, /\n[ \t]+$/, 'cursor after indentation');
      assert.match(p.after, /^\n/, 'the rest of the line is removed');
    }
  });

  test('the demo cursor is just after its anchor', () => {
    const text = fs.readFileSync(path.join(root, 'examples', 'demo.js'), 'utf8');
    const { line, col } = demoCursor(text);
    assert.ok(splitAtCursor(text, line, col, 'demo').before.endsWith(CURSOR_AFTER));
  });
});

describe('model catalog', () => {
  const write = (name: string, value: unknown) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };
  const good = () => JSON.parse(fs.readFileSync(path.join(root, 'models.json'), 'utf8'));

  test('the shipped catalog loads and every bundled model is present', () => {
    const c = loadCatalog();
    const bundled = c.models.filter((m) => m.bundled);
    assert.deepEqual(bundled.map((m) => m.id), ['lockstep-target', 'lockstep-drafter-a', 'lockstep-drafter-b']);
    for (const m of bundled) {
      const dir = resolveModelDir(m.id, c);
      assert.ok(fs.existsSync(path.join(dir, 'config.json')), dir);
    }
    assert.equal(resolveModelDir('models/lockstep-target', c, root), path.join(root, 'models', 'lockstep-target'));
    assert.throws(() => resolveModelDir('x', c), /unknown model 'x': not a catalog id \(known: lockstep-target, lockstep-drafter-a, lockstep-drafter-b[^)]*\) and not a directory/);
  });

  test('a bad entry is left out with one warning naming the entry and the field; a bad file is an error', () => {
    const n = good().models.length;
    const bad = (mutate: (c: any) => void, res: RegExp[], kept: number) => {
      const c = good();
      mutate(c);
      const got = loadCatalog(write('bad.json', c));
      assert.equal(got.warnings.length, res.length, got.warnings.join('\n'));
      res.forEach((re, i) => assert.match(got.warnings[i], re));
      assert.equal(got.models.length, kept, res[0].source);
    };
    // lockstep-target recommends both drafters: leaving one out also drops it from that list (a warning of its own).
    const dropped = (d: string, why: string) => new RegExp(`^bad\\.json: models\\[0\\] \\(id "lockstep-target"\\): field "recommendedDrafters" names "${d}", which ${why} — that drafter is dropped, the model is kept$`);
    bad((c) => delete c.models[1].role, [dropped('lockstep-drafter-a', 'is skipped \\(see its warning\\)'), /^bad\.json: models\[1\] \(id "lockstep-drafter-a"\): field "role" must be one of .* — entry skipped$/], n - 1);
    bad((c) => (c.models[2].family = 7), [dropped('lockstep-drafter-b', 'is skipped \\(see its warning\\)'), /models\[2\] \(id "lockstep-drafter-b"\): field "family" must be a non-empty string \(got 7\) — entry skipped/], n - 1);
    bad((c) => (c.models[0].id = 'has space'), [/^bad\.json: models\[0\]: field "id"/], n - 1);
    bad((c) => (c.models[2].id = 'lockstep-drafter-a'), [dropped('lockstep-drafter-b', 'is not in the catalog'), /models\[2\] \(id "lockstep-drafter-a"\): field "id" repeats the id of models\[1\]/], n - 1);
    bad((c) => (c.models[0].recommendedDrafters = ['ghost']), [dropped('ghost', 'is not in the catalog')], n);
    bad((c) => (c.models[0].bundled = ''), [/models\[0\] \(id "lockstep-target"\): field "bundled"/], n - 1);
    bad((c) => (c.models[0].bundled = '../../../../../etc'), [/models\[0\] \(id "lockstep-target"\): field "bundled" must be a directory inside the models folder/], n - 1);
    const refused = (mutate: (c: any) => void, re: RegExp) => {
      const c = good();
      mutate(c);
      assert.throws(() => loadCatalog(write('bad.json', c)), (e: Error) => e instanceof CatalogError && re.test(e.message), re.source);
    };
    refused((c) => (c.version = 2), /field "version" must be 1/);
    refused((c) => (c.models = {}), /field "models" must be an array/);
    assert.throws(() => loadCatalog(write('notjson.json', '{ nope')), /not valid JSON/);
    assert.throws(() => loadCatalog(path.join(tmp, 'absent.json')), /cannot read the model catalog/);
  });

  test('extra fields are kept; an entry without "bundled" is reported as not downloaded', async () => {
    const c = good();
    c.models.push({
      id: 'qwen2.5-coder-0.5b', role: 'target', family: 'qwen2.5', repo: 'onnx-community/Qwen2.5-Coder-0.5B-Instruct',
      commit: 'abc', files: ['onnx/model_q4f16.onnx'], sha256: { 'onnx/model_q4f16.onnx': '0'.repeat(64) },
    });
    const file = writeCatalogDir(path.join(tmp, 'hub'), c);
    const cat = loadCatalog(file);
    assert.deepEqual(cat.warnings, []);
    const q = findEntry(cat, 'qwen2.5-coder-0.5b')!;
    assert.deepEqual(q.files, ['onnx/model_q4f16.onnx']);
    assert.equal(q.name, 'qwen2.5-coder-0.5b');
    assert.equal(entryStatus(cat, q).available, false);
    assert.throws(() => resolveModelDir('qwen2.5-coder-0.5b', cat), /model 'qwen2\.5-coder-0\.5b' is not downloaded — run `lockstep download qwen2\.5-coder-0\.5b`/);
    assertOneLineError(await run('complete', '--prefix', 'x', '--catalog', file, '--target', 'qwen2.5-coder-0.5b'), /not downloaded — run `lockstep download/);
    // The rest of the catalog still works.
    assert.equal(validateCatalog(c, file).models.length, good().models.length + 1);
  });

  test('a bad entry in a catalog given to the CLI: one warning line each on stderr, once; the command still works', async () => {
    const c = good();
    c.models[1].recommendedDrafters = 'lockstep-drafter-b';
    c.models.push({ id: 'etc', role: 'target', family: 'x', bundled: '../../../../../etc' });
    const file = writeCatalogDir(path.join(tmp, 'cli-bad'), c);
    const r = await run('complete', '--prefix', 'function f(x) {\n  return ', '--max-tokens', '4', '--json', '--catalog', file);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('lockstep: warning: '));
    assert.equal(warnings.length, 3, r.stderr);
    assert.match(warnings[0], /^lockstep: warning: models\.json: models\[0\] \(id "lockstep-target"\): field "recommendedDrafters" names "lockstep-drafter-a", which is skipped/);
    assert.match(warnings[1], /^lockstep: warning: models\.json: models\[1\] \(id "lockstep-drafter-a"\): field "recommendedDrafters" must be an array .* — entry skipped$/);
    assert.match(warnings[2], /^lockstep: warning: models\.json: models\[\d+\] \(id "etc"\): field "bundled" must be a directory inside the models folder .* — entry skipped$/);
    // The target's remaining recommended drafter drafts.
    assert.equal(JSON.parse(r.stdout).drafter, 'lockstep-drafter-b');
    // The entry left out is unknown, not read from /etc (the warnings come again: another command).
    const etc = await run('complete', '--prefix', 'x', '--catalog', file, '--target', 'etc');
    assert.notEqual(etc.code, 0);
    const lines = etc.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.filter((l) => l.startsWith('lockstep: warning: ')).length, 3, etc.stderr);
    assert.deepEqual(lines.filter((l) => !l.startsWith('lockstep: warning: ')), [`lockstep: target: unknown model 'etc': not a catalog id (known: lockstep-target, lockstep-drafter-b, qwen2.5-coder-1.5b, qwen2.5-coder-0.5b-instruct, qwen2.5-coder-3b-instruct) and not a directory`]);
    // A catalog file that cannot be used at all is an error when named with --catalog.
    assertOneLineError(await run('complete', '--prefix', 'x', '--catalog', write('cli-notjson.json', '{ nope')), /cli-notjson\.json: not valid JSON/);
  });
});
