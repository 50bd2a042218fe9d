"""Training batches: plain next-token samples and fill-in-the-middle samples (PSM order), packed to a fixed length.

FIM samples split a window of a real file at two random character positions and encode the three parts separately,
as the engine does at completion time (the cursor can fall mid-word):
  <|fim_prefix|>before<|fim_suffix|>after<|fim_middle|>middle<|endoftext|>
"""
import json
import os
import random

import numpy as np

import bpe


class Corpus:
    def __init__(self, corpus_dir, split, encoder: bpe.Encoder, cache_dir=None):
        self.enc = encoder
        self.docs = [json.loads(l)['text'] for l in open(os.path.join(corpus_dir, split + '.jsonl'))]
        cache = os.path.join(cache_dir, f'{split}.tokens.npy') if cache_dir else None
        if cache and os.path.exists(cache):
            self.stream = np.load(cache)
        else:
            eot = encoder.special_ids['<|endoftext|>']
            parts = []
            for d in self.docs:
                parts.extend(encoder.encode(d))
                parts.append(eot)
            self.stream = np.array(parts, dtype=np.int32)
            if cache:
                np.save(cache, self.stream)
        lens = np.array([len(d) for d in self.docs], dtype=np.float64)
        self.doc_p = lens / lens.sum()


class Batcher:
    def __init__(self, corpus: Corpus, seq_len, fim_rate=0.5, seed=0):
        self.c = corpus
        self.seq_len = seq_len
        self.fim_rate = fim_rate
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        sp = corpus.enc.special_ids
        self.PRE, self.SUF, self.MID, self.EOT = sp['<|fim_prefix|>'], sp['<|fim_suffix|>'], sp['<|fim_middle|>'], sp['<|endoftext|>']

    def _fim_example(self):
        doc = self.c.docs[int(self.np_rng.choice(len(self.c.docs), p=self.c.doc_p))]
        width = int(self.seq_len * 3.3)
        start = self.rng.randrange(0, max(1, len(doc) - width))
        text = doc[start:start + width]
        if self.rng.random() < 0.5:
            # a short middle, as in most completions: up to a few lines
            i = self.rng.randrange(0, len(text) + 1)
            j = min(len(text), i + self.rng.randrange(0, 200))
        else:
            i, j = sorted(self.rng.randrange(0, len(text) + 1) for _ in range(2))
        enc = self.c.enc.encode
        return ([self.PRE] + enc(text[:i]) + [self.SUF] + enc(text[j:]) + [self.MID] + enc(text[i:j]) + [self.EOT])

    def sample(self):
        n = self.seq_len + 1
        if self.rng.random() < self.fim_rate:
            out = []
            while len(out) < n:
                out.extend(self._fim_example())
            return out[:n]
        s = self.rng.randrange(0, len(self.c.stream) - n)
        return self.c.stream[s:s + n].tolist()

    def batch(self, b):
        return np.array([self.sample() for _ in range(b)], dtype=np.int64)
