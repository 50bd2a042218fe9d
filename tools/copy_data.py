"""Copy batches: samples whose loss counts only the FIM middle, and whose middle is the rest of a name the prompt
already holds — in a context snippet of another file (repo_data cross-file points) or earlier in the same window —
with the sample's names made up (rename.py), so that copying is the only way to get it right.

In the plain training stream such a middle is a handful of tokens in 512; here it is all the signal, aimed at the
two steps the editor needs: from <|fim_middle|> back to the end of the prefix (the typed start of the name), and from
there to the earlier occurrence, whose next tokens it copies. (In the run of 2026-11-30 it did not teach the 7M target
either: tools/README.md, "The copying curriculum".)
"""
from fim_sample import fim_ids_at
from repo_data import IDENT, RepoSampler


def typed_chars(rng, name):
    """How much of the name the user typed before the completion: nothing half the time, else one to three
    characters or its first word (`compute` of computeInvoiceTotal)."""
    r = rng.random()
    if r < 0.5:
        return 0
    if r < 0.75:
        return rng.randrange(1, min(4, len(name)))
    k = 1
    while k < len(name) - 1 and not (name[k].isupper() or name[k] == '_' or name[k - 1] == '_'):
        k += 1
    return k


class CopyBatcher:
    def __init__(self, batcher, cross_file_share=0.5):
        """batcher: data.Batcher with a renamer (rename_rate > 0); its corpus, generators and repository sampler."""
        self.b = batcher
        self.cross_file_share = cross_file_share

    def _in_file(self, n):
        """FIM ids with the cursor at a later occurrence of a name of the window, or None."""
        b = self.b
        text = b._window()
        seen = {}
        for m in IDENT.finditer(text):
            if b.renamer.renamable(m.group()):
                seen.setdefault(m.group(), []).append(m.start())
        later = [(p, name) for name, at in seen.items() if len(at) > 1 for p in at[1:]]
        if not later:
            return None
        p, name = later[b.rng.randrange(len(later))]
        i = p + typed_chars(b.rng, name)
        eol = text.find('\n', p)
        j = len(text) if eol < 0 else eol
        ids = fim_ids_at(b.c.enc.encode, text, i, j, b.PRE, b.SUF, b.MID, b.EOT, b.renamer.session(b.rng))
        return ids if len(ids) <= n else None

    def _cross_file(self, n):
        b = self.b
        repo: RepoSampler = b._repo_sampler()
        session = b.renamer.session(b.rng)
        repo.rename = session
        repo.encode = lambda text: b.c.enc.encode(session(text))
        ctx, head, fim = repo.parts(n, copy=True, typed=lambda name: typed_chars(b.rng, name))
        if not repo.last_was_copy:
            return None
        return [t for piece in ctx for t in piece] + head + fim

    def sample(self, n):
        """(ids, start, end): ≤ n + 1 ids; the targets that count are ids[start + 1:end + 1] (the middle and its end
        token), i.e. positions start..end-1 of the model's predictions."""
        for _ in range(50):
            ids = self._cross_file(n + 1) if self.b.rng.random() < self.cross_file_share else self._in_file(n + 1)
            if ids is None or len(ids) > n + 1:
                continue
            mid = len(ids) - 1 - ids[::-1].index(self.b.MID)
            return ids, mid, len(ids) - 1
        raise RuntimeError('no copy sample in 50 tries')

    def batch(self, k, n):
        """(ids [k, n + 1], mask [k, n]) as numpy arrays, padded with the end token (masked out)"""
        import numpy as np  # training only: the sampling above runs in the tools' numpy-free tests
        ids = np.full((k, n + 1), self.b.EOT, dtype=np.int64)
        mask = np.zeros((k, n), dtype=bool)
        for r in range(k):
            got, start, end = self.sample(n)
            ids[r, :len(got)] = got
            mask[r, start:end] = True
        return ids, mask
