/**
 * A model folder with a broken JSON file is reported by that file's name and the JSON parse error — config.json before
 * the tokenizer files, so a folder with a broken config and no tokenizer.json is not reported as "tokenizer.json:
 * file not found" — for the target and for a model drafter, as one line with exit 1.
 */
import { after, describe, test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../src/models/catalog';
import { assertOneLineError, run } from '../helpers/cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-model-files-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A copy of the shipped target in a folder of its own, with `broken` files overwritten and `missing` ones removed. */
function modelWith(name: string, broken: string[], missing: string[] = []): string {
  const dir = path.join(tmp, name);
  fs.cpSync(path.join(packageRoot(), 'models', 'lockstep-target'), dir, { recursive: true });
  for (const f of broken) fs.writeFileSync(path.join(dir, f), '{"vocab_size": 4096,');
  for (const f of missing) fs.rmSync(path.join(dir, f));
  return dir;
}

const PARSE_ERROR = /\(?(Expected|Unexpected)[^)]*JSON at position \d+/;

describe('broken JSON in a model folder', () => {
  test('config.json: named with the parse error, even when tokenizer.json is missing too', async () => {
    const dir = modelWith('bad-config', ['config.json'], ['tokenizer.json']);
    const r = await run('complete', '--prefix', 'x', '--target', dir);
    assertOneLineError(r, new RegExp(`model config is not valid JSON: ${dir}/config\\.json \\(${PARSE_ERROR.source}`));
    if (r.code !== 1) throw new Error(`exit ${r.code}`);
  });

  test('tokenizer.json and tokenizer_config.json: named with the parse error', async () => {
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
      const dir = modelWith(`bad-${file}`, [file]);
      const r = await run('complete', '--prefix', 'x', '--target', dir);
      assertOneLineError(r, new RegExp(`invalid JSON in ${dir}/${file.replace('.', '\\.')}: ${PARSE_ERROR.source}`));
      if (r.code !== 1) throw new Error(`${file}: exit ${r.code}`);
    }
  });

  test('a model drafter\'s broken config.json is named the same way', async () => {
    const dir = modelWith('bad-drafter-config', ['config.json'], ['tokenizer.json']);
    assertOneLineError(await run('complete', '--prefix', 'x', '--drafter', dir), new RegExp(`model config is not valid JSON: ${dir}/config\\.json`));
  });
});
