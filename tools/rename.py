"""Consistent renaming of a sample's names to made-up ones: the copying curriculum.

A 7M-parameter model trained on a few million tokens of code predicts names from their surroundings and never learns
to look back and copy them (tools/copy_probe.py: greedy accuracy on a repeated window 0.19 against 0.18 on its first
occurrence). Renaming every project-specific name of a sample to a fresh combination of real identifier words
(`computeInvoiceTotal` → `parseWidgetOffset`, the same replacement wherever the name occurs in the sample: context
snippets and the current file alike) keeps the code real but makes each name's second and later occurrences
predictable only by copying an earlier one, which is the behaviour cross-file context needs.
"""
import re
from collections import Counter

from repo_data import COMMON, IDENT

COMMENT = re.compile(r'//[^\n]*|/\*[\s\S]*?\*/')  # comments keep their words: only code is renamed
WORD = re.compile(r'[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+')
KEEP_COMMONEST = 400  # the corpus's commonest names are the language's and platform's APIs (push, forEach…): kept


class Renamer:
    def __init__(self, texts, pieces=None, piece_share=0.0):
        """texts: the corpus (its commonest names are kept; its identifier words make the fakes). pieces: the
        tokenizer's alphabetic tokens; `piece_share` of the fakes are made of them instead of words — names whose
        tokens the rest of the prompt rarely holds, so that the first steps of copying need only one token's match."""
        self.pieces = list(pieces or [])
        self.piece_share = piece_share if self.pieces else 0.0
        counts = Counter()
        for t in texts:
            counts.update(IDENT.findall(t))
        self.keep = frozenset(n for n, _ in counts.most_common(KEEP_COMMONEST)) | COMMON
        words = Counter()
        for name, c in counts.items():
            for w in WORD.findall(name):
                if len(w) >= 3 and w.isalpha():
                    words[w.lower()] += c
        self.words = [w for w, _ in words.most_common(3000)]

    def renamable(self, name):
        return len(name) >= 3 and name not in self.keep and not name.startswith('$') and not name.isupper()

    def fake(self, name, rng):
        """A made-up name in `name`'s style (camelCase, PascalCase, snake_case): 1–3 corpus words, or (piece_share of
        the time) 2–4 token pieces."""
        if self.piece_share and rng.random() < self.piece_share:
            parts = [self.pieces[rng.randrange(len(self.pieces))].lower() for _ in range(rng.randrange(2, 5))]
        else:
            parts = [self.words[rng.randrange(len(self.words))] for _ in range(rng.randrange(1, 4))]
        if '_' in name.strip('_'):
            out = '_'.join(parts)
        elif name[0].isupper():
            out = ''.join(p.capitalize() for p in parts)
        else:
            out = parts[0] + ''.join(p.capitalize() for p in parts[1:])
        lead = len(name) - len(name.lstrip('_'))
        return '_' * lead + out

    def session(self, rng, share=0.8):
        """A function text → renamed text for one sample: each renamable name gets, at its first sighting, a fresh fake
        (with probability `share`; otherwise it stays), and keeps it in every text of the sample."""
        table, taken = {}, set()

        def pick(m):
            n = m.group()
            f = table.get(n)
            if f is None:
                f = n
                if self.renamable(n) and rng.random() < share:
                    f = self.fake(n, rng)
                    if f in taken or f in self.keep:
                        f = n
                taken.add(f)
                table[n] = f
            return f

        def rename_code(text, cuts=None):
            """The renamed text; with `cuts` (positions in `text`), also where they fall in it: a cut inside a renamed
            name keeps its offset into the new one (a FIM cursor typed into a name stays in it)."""
            out, n_out, at = [], 0, 0
            moved = list(cuts or ())
            done = [False] * len(moved)

            def place(start, end, new):
                # cuts in text[start:end) move with it; text[start:end] became `new`, written at n_out
                for k, c in enumerate(moved):
                    if not done[k] and start <= c < end:
                        moved[k], done[k] = n_out + min(c - start, len(new)), True

            def code(segment_end):
                nonlocal at, n_out
                for m in IDENT.finditer(text, at, segment_end):
                    place(at, m.start(), text[at:m.start()])
                    out.append(text[at:m.start()])
                    n_out += m.start() - at
                    new = pick(m)
                    place(m.start(), m.end(), new)
                    out.append(new)
                    n_out += len(new)
                    at = m.end()

            for c in COMMENT.finditer(text):
                code(c.start())
                place(at, c.end(), text[at:c.end()])
                out.append(text[at:c.end()])
                n_out += c.end() - at
                at = c.end()
            code(len(text))
            place(at, len(text) + 1, text[at:] + ' ')  # the tail, and a cut at the very end
            out.append(text[at:])
            renamed = ''.join(out)
            return renamed if cuts is None else (renamed, tuple(moved))

        rename_code.table = table  # name → what it became, for the probes (copy_probe.py)
        return rename_code
