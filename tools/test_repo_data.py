"""Unit tests of repo_data.py's cross-file points (no torch, no tokenizer): python3 -m unittest tools/test_repo_data.py"""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import repo_data  # noqa: E402


class FakeEncoder:
    """One id per character; the four specials above them."""
    special_ids = {'<|endoftext|>': 1000, '<|fim_prefix|>': 1001, '<|fim_middle|>': 1002, '<|fim_suffix|>': 1003}

    def encode(self, text):
        return [ord(c) % 1000 for c in text]


class FakeNumpyRng:
    """What RepoSampler asks of numpy's Generator (so these tests need no numpy)."""
    def __init__(self):
        self.r = random.Random(2)

    def choice(self, n, p):
        return self.r.choices(range(n), weights=p)[0]


INVOICE = 'export function computeInvoiceTotal(items, taxRate) {\n  return sumPrices(items) * (1 + taxRate);\n}\n'
CHECKOUT = ("import { x } from './x';\n// the checkout of a cart\nexport function checkout(cart) {\n"
            '  const total = computeInvoiceTotal(cart.items, localRate);\n  return total;\n}\n')


class CopyPoints(unittest.TestCase):
    def test_names_only_another_file_holds(self):
        files_with = {'computeInvoiceTotal': 2, 'checkout': 1, 'localRate': 1, 'items': 2, 'total': 2}
        text = "export function checkout(cart) {\n  const total = computeInvoiceTotal(cart.items, localRate);\n}\n"
        points = repo_data.copy_points(text, files_with)
        # computeInvoiceTotal: once here, in another file, camelCase. Not: checkout/localRate (no other file holds
        # them), items (a plain word), total (a plain word), const/function (keywords)
        self.assertEqual(points, [(text.index('computeInvoiceTotal'), 'computeInvoiceTotal')])

    def test_not_in_comments_and_not_when_repeated(self):
        files_with = {'computeInvoiceTotal': 2}
        self.assertEqual(repo_data.copy_points('// computeInvoiceTotal\n', files_with), [])
        self.assertEqual(repo_data.copy_points(' * computeInvoiceTotal(x)\n', files_with), [])
        # twice in the window: the current file itself tells the model the name
        self.assertEqual(repo_data.copy_points('a = computeInvoiceTotal(1);\nb = computeInvoiceTotal(2);\n', files_with), [])


class CopySamples(unittest.TestCase):
    def sampler(self):
        docs = [{'package': 'shop', 'path': 'shop/src/invoice.js', 'text': INVOICE},
                {'package': 'shop', 'path': 'shop/src/checkout.js', 'text': CHECKOUT}]
        return repo_data.RepoSampler(docs, FakeEncoder(), random.Random(1), FakeNumpyRng(), copy_rate=1.0)

    def test_the_middle_starts_at_the_name_and_the_context_holds_it(self):
        s = self.sampler()
        files = s.packages[0]
        cur = [p for p, _ in files].index('src/checkout.js')
        got = s.copy_fim(0, files, cur, CHECKOUT, 512)
        self.assertIsNotNone(got)
        ctx, fim = got
        enc = FakeEncoder()
        mid = fim.index(enc.special_ids['<|fim_middle|>'])
        middle = ''.join(chr(t) for t in fim[mid + 1:-1])
        line = '  const total = computeInvoiceTotal(cart.items, localRate);'
        self.assertTrue(line.endswith(middle) and 'InvoiceTotal(cart.items, localRate);' in middle, middle)
        context = ''.join(chr(t) for piece in ctx for t in piece if t < 1000)
        self.assertIn('src/invoice.js\n', context)
        self.assertIn('computeInvoiceTotal', context)

    def test_default_stream_has_no_cross_file_points(self):
        s = self.sampler()
        s.copy_rate = 0.0
        for _ in range(20):
            s.example(256)
            self.assertFalse(s.last_was_copy)


if __name__ == '__main__':
    unittest.main()
