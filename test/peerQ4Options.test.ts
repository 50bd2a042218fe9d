/**
 * bench/peer-q4.ts's options: without any the shipped target is measured as before (fused q4, fp32 pair, drafter B,
 * the shipped FIM template); `--target DIR` points the same run at another folder (the 0.5B stand-in) with its own
 * template, and a drafter given as a path is resolved against the working folder.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../src/cli/args';
import { parsePeerQ4 } from '../bench/peerQ4Options';

const root = '/repo';
const cwd = '/here';

describe('peer-q4 options', () => {
  it('defaults to the shipped target as before', () => {
    const o = parsePeerQ4([], root, cwd)!;
    assert.equal(o.target, path.join(root, 'models', 'lockstep-target'));
    assert.equal(o.fim, 'lockstep');
    assert.equal(o.drafter, 'lockstep-drafter-b');
    assert.deepEqual(o.q4, ['fused']);
    assert.equal(o.fp32, true);
    assert.deepEqual(o.threads, [1]);
    assert.deepEqual([o.prompts, o.maxTokens, o.validatePrompts, o.validateOnly, o.name], [8, 64, 0, false, 'peer-q4']);
    assert.equal(o.out, path.join(cwd, '.bench-results'));
    assert.equal(o.work, undefined);
  });

  it('measures another folder: --target, a drafter folder, both 4-bit sources, no fp32 pair', () => {
    const o = parsePeerQ4([
      '--target', 'sc/0.5b/target', '--drafter', 'sc/0.5b/drafter', '--drafter-variant', 'q4', '--q4', 'file,fused', '--q4', 'file',
      '--no-fp32', '--validate-prompts', '2', '--validate-only', '--threads', '1,0', '--prompts', '4', '--max-tokens', '32', '--max-prompt-tokens', '128',
      '--work', '/tmp/w', '--name', 'peer-q4-standin-0.5b',
    ], root, cwd)!;
    assert.equal(o.target, '/here/sc/0.5b/target');
    assert.equal(o.fim, undefined, 'the folder\'s own FIM template is detected');
    assert.equal(o.drafter, '/here/sc/0.5b/drafter');
    assert.equal(o.drafterVariant, 'q4');
    assert.deepEqual(o.q4, ['file', 'fused']);
    assert.equal(o.fp32, false);
    assert.equal(o.validateOnly, true);
    assert.deepEqual(o.threads, [...new Set([1, os.cpus().length])]);
    assert.deepEqual([o.prompts, o.maxTokens, o.maxPromptTokens, o.validatePrompts, o.validateTokens], [4, 32, 128, 2, 8]);
    assert.deepEqual([o.work, o.name], ['/tmp/w', 'peer-q4-standin-0.5b']);
  });

  it('keeps a catalog drafter name as a name; --help gives null; bad values are usage errors', () => {
    assert.equal(parsePeerQ4(['--drafter', 'lockstep-drafter-a'], root, cwd)!.drafter, 'lockstep-drafter-a');
    assert.equal(parsePeerQ4(['--help'], root, cwd), null);
    assert.throws(() => parsePeerQ4(['--q4', 'int8'], root, cwd), UsageError);
    assert.throws(() => parsePeerQ4(['stray'], root, cwd), UsageError);
  });
});
