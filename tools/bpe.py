"""Byte-level BPE: training, and an encoder that matches the Hugging Face `tokenizers` ByteLevel + BPE pipeline.

The pre-tokenizer is GPT-2's regex (what ByteLevel(use_regex=true) applies), bytes map to printable characters with
GPT-2's bytes_to_unicode table, and merges are applied lowest rank first, as the tokenizers library does.
"""
import heapq
import json
from collections import Counter, defaultdict

import regex

GPT2_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
SPECIALS = ['<|endoftext|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>']


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_CHARS = bytes_to_unicode()


def pre_tokenize(text):
    for m in GPT2_PATTERN.finditer(text):
        yield ''.join(BYTE_CHARS[b] for b in m.group(0).encode('utf-8'))


def train(texts, vocab_size, log=print):
    """Returns (vocab: token->id, merges: list of (a, b)). Special tokens take the last ids."""
    word_freq = Counter()
    for t in texts:
        word_freq.update(pre_tokenize(t))
    words = [list(w) for w in word_freq]
    freqs = [word_freq[w] for w in word_freq]
    vocab = {BYTE_CHARS[b]: b for b in range(256)}
    n_merges = vocab_size - 256 - len(SPECIALS)
    pair_count = defaultdict(int)
    pair_where = defaultdict(set)
    for wi, syms in enumerate(words):
        for a, b in zip(syms, syms[1:]):
            pair_count[(a, b)] += freqs[wi]
            pair_where[(a, b)].add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc or negc == 0:
            continue  # stale heap entry
        merges.append(pair)
        new_tok = pair[0] + pair[1]
        vocab[new_tok] = len(vocab)
        changed = set()
        for wi in list(pair_where[pair]):
            syms = words[wi]
            f = freqs[wi]
            for a, b in zip(syms, syms[1:]):
                pair_count[(a, b)] -= f
                changed.add((a, b))
                pair_where[(a, b)].discard(wi)
            out = []
            i = 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == pair[0] and syms[i + 1] == pair[1]:
                    out.append(new_tok)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words[wi] = out
            for a, b in zip(out, out[1:]):
                pair_count[(a, b)] += f
                changed.add((a, b))
                pair_where[(a, b)].add(wi)
        for p in changed:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
        if len(merges) % 500 == 0:
            log(f'merges {len(merges)}/{n_merges}')
    for s in SPECIALS:
        vocab[s] = len(vocab)
    return vocab, merges


class Encoder:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.cache = {}
        self.special_ids = {s: vocab[s] for s in SPECIALS}

    def _bpe(self, word):
        ids = self.cache.get(word)
        if ids is not None:
            return ids
        syms = list(word)
        while len(syms) > 1:
            best = None
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            _, i = best
            pair = (syms[i], syms[i + 1])
            out = []
            j = 0
            while j < len(syms):
                if j + 1 < len(syms) and (syms[j], syms[j + 1]) == pair:
                    out.append(syms[j] + syms[j + 1])
                    j += 2
                else:
                    out.append(syms[j])
                    j += 1
            syms = out
        ids = [self.vocab[s] for s in syms]
        self.cache[word] = ids
        return ids

    def encode(self, text):
        """Plain text only: special-token strings inside `text` are encoded as ordinary text."""
        out = []
        for w in pre_tokenize(text):
            out.extend(self._bpe(w))
        return out


def write_tokenizer(out_dir, vocab, merges, model_max_length):
    added = [{'id': vocab[s], 'content': s, 'single_word': False, 'lstrip': False, 'rstrip': False,
              'normalized': False, 'special': True} for s in SPECIALS]
    base_vocab = {t: i for t, i in vocab.items() if t not in SPECIALS}
    tok = {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': added,
        'normalizer': None,
        'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
        'post_processor': None,
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                  'vocab': base_vocab, 'merges': [f'{a} {b}' for a, b in merges]},
    }
    with open(f'{out_dir}/tokenizer.json', 'w', encoding='utf-8') as f:
        json.dump(tok, f, ensure_ascii=False)
    cfg = {
        'tokenizer_class': 'PreTrainedTokenizerFast',
        'bos_token': None,
        'eos_token': '<|endoftext|>',
        'pad_token': '<|endoftext|>',
        'unk_token': None,
        'add_bos_token': False,
        'add_eos_token': False,
        'clean_up_tokenization_spaces': False,
        'model_max_length': model_max_length,
        'additional_special_tokens': SPECIALS[1:],
        'added_tokens_decoder': {str(a['id']): {k: v for k, v in a.items() if k != 'id'} for a in added},
    }
    with open(f'{out_dir}/tokenizer_config.json', 'w', encoding='utf-8') as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)


def load_tokenizer(tokenizer_json_path):
    tok = json.load(open(tokenizer_json_path, encoding='utf-8'))
    vocab = dict(tok['model']['vocab'])
    for a in tok['added_tokens']:
        vocab[a['content']] = a['id']
    merges = [tuple(m.split(' ')) if isinstance(m, str) else tuple(m) for m in tok['model']['merges']]
    return Encoder(vocab, merges)
