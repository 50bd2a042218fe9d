/**
 * The CLI's argument parser (src/cli/args.ts): the option forms (--a v, --a=v, flags, repeats, comma lists,
 * positionals, --) and every option's range, refused with a UsageError that names the option.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as A from '../../src/cli/args';

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
