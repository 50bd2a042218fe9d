"""Unit tests of rename.py's copying curriculum (no torch, no tokenizer): python3 -m unittest tools/test_rename.py"""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import rename  # noqa: E402
import repo_data  # noqa: E402
from test_repo_data import CHECKOUT, INVOICE, FakeEncoder, FakeNumpyRng  # noqa: E402

CORPUS = [INVOICE, CHECKOUT, 'const widgetCount = parseOffset(header_size, PageHandler);\n'] * 3


class Renaming(unittest.TestCase):
    def test_one_name_one_fake_across_the_sample(self):
        r = rename.Renamer(CORPUS)
        r.keep = rename.COMMON  # a three-file corpus has no API names to keep
        f = r.session(random.Random(3), share=1.0)
        a, b = f(INVOICE), f(CHECKOUT)
        new = f.table['computeInvoiceTotal']
        self.assertNotEqual(new, 'computeInvoiceTotal')
        # the context snippet and the current file carry the same made-up name: copying is the way to predict it
        self.assertIn(f'function {new}(', a)
        self.assertIn(f'const total = {new}(', b)
        self.assertNotIn('computeInvoiceTotal', a + b)
        # keywords stay; comments keep their words
        self.assertTrue(a.startswith('export function '))
        self.assertIn('// the checkout of a cart\n', b)

    def test_cuts_move_with_the_text(self):
        r = rename.Renamer(CORPUS)
        r.keep = rename.COMMON
        f = r.session(random.Random(4), share=1.0)
        text = '// computeInvoiceTotal\nconst x = computeInvoiceTotal(items);\n'
        at = text.index('computeInvoiceTotal(')
        cuts = (at + 3, text.index(')'), 0, len(text), text.index('const'))
        new, moved = f(text, cuts)
        fake = f.table['computeInvoiceTotal']
        # a cursor typed three letters into the name stays three letters into its replacement
        self.assertEqual(new[moved[0] - 3:moved[0]], fake[:3])
        self.assertTrue(new[moved[0] - 3:].startswith(fake + '('))
        self.assertEqual(new[moved[1]], ')')
        self.assertEqual((moved[2], moved[3]), (0, len(new)))
        self.assertEqual(new[moved[4]:moved[4] + 5], 'const')
        self.assertTrue(new.startswith('// computeInvoiceTotal\n'))  # comments are not renamed
        self.assertEqual(f(text), new)

    def test_style_follows_the_name(self):
        r = rename.Renamer(CORPUS)
        rng = random.Random(5)
        for _ in range(50):
            self.assertRegex(r.fake('computeInvoiceTotal', rng), r'^[a-z]+([A-Z][a-z]+)*$')
            self.assertRegex(r.fake('PageHandler', rng), r'^([A-Z][a-z]+)+$')
            self.assertRegex(r.fake('header_size', rng), r'^[a-z]+(_[a-z]+)*$')
            self.assertRegex(r.fake('_private', rng), r'^_[a-z]')

    def test_commonest_names_are_kept(self):
        r = rename.Renamer(CORPUS)
        # in this small corpus every name is among the commonest: nothing is renamed
        f = r.session(random.Random(1), share=1.0)
        self.assertEqual(f(CHECKOUT), CHECKOUT)

    def test_repository_sample_renames_context_and_file_alike(self):
        docs = [{'package': 'shop', 'path': 'shop/src/invoice.js', 'text': INVOICE},
                {'package': 'shop', 'path': 'shop/src/checkout.js', 'text': CHECKOUT}]
        s = repo_data.RepoSampler(docs, FakeEncoder(), random.Random(1), FakeNumpyRng(), copy_rate=1.0)
        r = rename.Renamer(CORPUS)
        r.keep = rename.COMMON
        f = r.session(random.Random(2), share=1.0)
        ids = s.example(512, f)
        sp = FakeEncoder.special_ids
        pre, suf, mid = (ids.index(sp[k]) for k in ('<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>'))
        text = lambda a, b: ''.join(chr(t) for t in ids[a:b] if t < 1000)
        new = f.table['computeInvoiceTotal']
        self.assertIn(new, text(0, pre))  # the context snippet
        # the current file, its three parts put back together (the cursor may cut the name: it is one name still)
        self.assertIn(f' = {new}(', text(pre, suf) + text(mid, len(ids)) + text(suf, mid))
        self.assertNotIn('computeInvoiceTotal', text(0, len(ids)))
        # the next sample without a renaming is the plain text again
        ids = s.example(512)
        self.assertIn('computeInvoiceTotal', ''.join(chr(t) for t in ids if t < 1000))


if __name__ == '__main__':
    unittest.main()
