"""Unit tests of copy_data.py's copy samples (no torch, no numpy, no tokenizer): python3 -m unittest tools/test_copy_data.py"""
import os
import random
import re
import sys
import unittest
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(__file__))
import copy_data  # noqa: E402
import rename  # noqa: E402
import repo_data  # noqa: E402
from test_repo_data import CHECKOUT, INVOICE, FakeEncoder, FakeNumpyRng  # noqa: E402

WINDOW = ('function widgetOffset(pageHandler) {\n  return pageHandler.size;\n}\n'
          'const headerSize = widgetOffset(firstPage) + widgetOffset(secondPage);\n')
TAIL = re.compile(r'[A-Za-z_$][A-Za-z0-9_$]*$')
HEAD = re.compile(r'^[A-Za-z0-9_$]*')


class FakeBatcher:
    """What CopyBatcher asks of data.Batcher."""
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.renamer = rename.Renamer([WINDOW, INVOICE, CHECKOUT])
        self.renamer.keep = rename.COMMON
        self.c = SimpleNamespace(enc=FakeEncoder())
        sp = FakeEncoder.special_ids
        self.PRE, self.SUF, self.MID, self.EOT = sp['<|fim_prefix|>'], sp['<|fim_suffix|>'], sp['<|fim_middle|>'], sp['<|endoftext|>']
        docs = [{'package': 'shop', 'path': 'shop/src/invoice.js', 'text': INVOICE},
                {'package': 'shop', 'path': 'shop/src/checkout.js', 'text': CHECKOUT}]
        self.repo = repo_data.RepoSampler(docs, FakeEncoder(), self.rng, FakeNumpyRng())

    def _window(self):
        return WINDOW

    def _repo_sampler(self):
        return self.repo


def parts(b, ids, start, end):
    text = lambda a, z: ''.join(chr(t) for t in ids[a:z] if t < 1000)
    pre, suf = ids.index(b.PRE), ids.index(b.SUF)
    return text(0, pre), text(pre, suf), text(start + 1, end)


class CopySamples(unittest.TestCase):
    def check(self, cross_file):
        for seed in range(20):
            b = FakeBatcher(seed)
            ids, start, end = copy_data.CopyBatcher(b, cross_file_share=1.0 if cross_file else 0.0).sample(511)
            self.assertEqual(ids[start], b.MID)  # the counted targets are the middle's tokens and the end token
            self.assertEqual(ids[end], b.EOT)
            context, prefix, middle = parts(b, ids, start, end)
            # the name at the cursor: what was typed of it and what the middle starts with
            name = TAIL.search(prefix).group() if TAIL.search(prefix) else ''
            name += HEAD.match(middle).group()
            self.assertGreaterEqual(len(name), 3, (prefix, middle))
            self.assertTrue(HEAD.match(middle).group(), f'the middle starts with the rest of {name}')
            # ... which the prompt already holds: in another file's snippet, or earlier in this window
            held = context if cross_file else prefix[:len(prefix) - len(TAIL.search(prefix).group() if TAIL.search(prefix) else '')]
            self.assertRegex(held, rf'(?<![A-Za-z0-9_$]){re.escape(name)}(?![A-Za-z0-9_$])', (held, middle))

    def test_in_file_points(self):
        self.check(cross_file=False)

    def test_cross_file_points(self):
        self.check(cross_file=True)

    def test_typed_chars(self):
        rng = random.Random(0)
        got = {copy_data.typed_chars(rng, 'computeInvoiceTotal') for _ in range(200)}
        self.assertEqual(got, {0, 1, 2, 3, 7})  # nothing, 1–3 characters, or the first word
        self.assertIn(5, {copy_data.typed_chars(rng, 'fetch_value') for _ in range(200)})


if __name__ == '__main__':
    unittest.main()
