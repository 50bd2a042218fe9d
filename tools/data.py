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
from fim_sample import fim_ids
import rename
import repo_data


class Corpus:
    def __init__(self, corpus_dir, split, encoder: bpe.Encoder, cache_dir=None):
        self.enc = encoder
        self.records = [json.loads(l) for l in open(os.path.join(corpus_dir, split + '.jsonl'))]
        self.docs = [r['text'] for r in self.records]
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
    def __init__(self, corpus: Corpus, seq_len, fim_rate=0.5, seed=0, repo_rate=0.0, copy_rate=0.0, echo_rate=0.0,
                 rename_rate=0.0, piece_share=0.0):
        self.c = corpus
        self.seq_len = seq_len
        self.fim_rate = fim_rate
        # repository-level samples (repo_data.py); 0 keeps the sample stream of the models trained before them
        self.repo_rate = repo_rate
        self.copy_rate = copy_rate  # of the repository-level samples: cursor at a cross-file point (repo_data.copy_points)
        self.echo_rate = echo_rate  # share of echo samples (_echo_example); 0 keeps the earlier stream
        self.rename_rate = rename_rate  # share of samples whose names are renamed (rename.py); 0 keeps the stream
        self.renamer = None
        if rename_rate > 0:
            pieces = [t for t in corpus.enc.vocab if t.isalpha() and t.isascii() and len(t) >= 2]
            self.renamer = rename.Renamer(corpus.docs, pieces, piece_share)
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.repo = None
        sp = corpus.enc.special_ids
        self.PRE, self.SUF, self.MID, self.EOT = sp['<|fim_prefix|>'], sp['<|fim_suffix|>'], sp['<|fim_middle|>'], sp['<|endoftext|>']

    def _window(self):
        doc = self.c.docs[int(self.np_rng.choice(len(self.c.docs), p=self.c.doc_p))]
        width = int(self.seq_len * 3.3)
        start = self.rng.randrange(0, max(1, len(doc) - width))
        return doc[start:start + width]

    def _fim_example(self, rename=None):
        return fim_ids(self.rng, self.c.enc.encode, self._window(), self.PRE, self.SUF, self.MID, self.EOT, rename)[0]

    def _repo_sampler(self):
        # built on first use, sharing the batcher's generators so checkpoints resume the same stream
        if self.repo is None or self.repo.rng is not self.rng or self.repo.np_rng is not self.np_rng:
            if self.repo is None:
                self.repo = repo_data.RepoSampler(self.c.records, self.c.enc, self.rng, self.np_rng, copy_rate=self.copy_rate)
            self.repo.rng, self.repo.np_rng = self.rng, self.np_rng
        return self.repo

    def _echo_example(self, n):
        """Windows of real code, each followed later in the sample by a repeat of a span of it: the loss on a repeat
        is near zero only for a model that looks back and copies (an induction head, Olsson et al. 2022), the
        behaviour cross-file context needs and that plain code teaches a small model too slowly."""
        out = []
        while len(out) < n:
            a_len = self.rng.randrange(8, 97)
            s = self.rng.randrange(0, len(self.c.stream) - a_len)
            a = self.c.stream[s:s + a_len].tolist()
            f_len = self.rng.randrange(0, 201)
            f0 = self.rng.randrange(0, len(self.c.stream) - f_len)
            i = self.rng.randrange(0, a_len // 2)
            out.extend(a + self.c.stream[f0:f0 + f_len].tolist() + a[i:])
        return out[:n]

    def sample(self):
        n = self.seq_len + 1
        if self.echo_rate > 0 and self.rng.random() < self.echo_rate:
            return self._echo_example(n)
        renamed = self.rename_rate > 0 and self.rng.random() < self.rename_rate
        if self.repo_rate > 0 and self.rng.random() < self.repo_rate:
            out = []
            while len(out) < n:
                out.extend(self._repo_sampler().example(n, self.renamer.session(self.rng) if renamed else None))
            return out[:n]
        if self.rng.random() < self.fim_rate:
            out = []
            while len(out) < n:
                out.extend(self._fim_example(self.renamer.session(self.rng) if renamed else None))
            return out[:n]
        if renamed:
            return (self.c.enc.encode(self.renamer.session(self.rng)(self._window())) + [self.EOT] * n)[:n]
        s = self.rng.randrange(0, len(self.c.stream) - n)
        return self.c.stream[s:s + n].tolist()

    def batch(self, b):
        return np.array([self.sample() for _ in range(b)], dtype=np.int64)
