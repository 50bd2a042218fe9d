"""Repository-level samples: files of one package in the prompt format the extension sends with cross-file context,

  for each snippet: <|endoftext|>{path}\n{snippet}      (whole lines, ending with "\n")
  then:             <|endoftext|>{currentPath}\n<|fim_prefix|>before<|fim_suffix|>after<|fim_middle|>middle<|endoftext|>

Paths are package-relative with forward slashes. Snippets are 16-line windows (stride 8) of the package's other files
ranked by the Jaccard similarity of their identifiers with the lines around the cursor — the retrieval of
CrossCodeEval (Ding et al. 2023) that the extension's src/engine/snippets.ts also uses — so training sees the
context the model is given at completion time. Packages with a single file give no samples.
"""
import re

from fim_sample import fim_ids

IDENT = re.compile(r'[A-Za-z_$][A-Za-z0-9_$]*')
WINDOW_LINES, WINDOW_STRIDE = 16, 8
QUERY_BEFORE, QUERY_AFTER = 16, 4


def package_relative(package, path):
    """'axios/lib/core/Axios.js' → 'lib/core/Axios.js' (corpus paths start with the package folder)."""
    p = path.replace('\\', '/')
    prefix = package + '/'
    return p[len(prefix):] if p.startswith(prefix) else p


def windows(text):
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    out = []
    for start in range(0, len(lines), WINDOW_STRIDE):
        end = min(len(lines), start + WINDOW_LINES)
        w = '\n'.join(lines[start:end]) + '\n'
        ids = set(IDENT.findall(w))
        if ids:
            out.append((w, ids))
        if end == len(lines):
            break
    return out


def query_ids(before, after):
    b = before.split('\n')[-(QUERY_BEFORE + 1):]
    a = after.split('\n')[:QUERY_AFTER + 1]
    return set(IDENT.findall('\n'.join(b) + '\n'.join(a)))


def jaccard(a, b):
    common = len(a & b)
    union = len(a) + len(b) - common
    return common / union if union else 0.0


class RepoSampler:
    def __init__(self, docs, encoder, rng, np_rng, max_files=40):
        """docs: [{'package', 'path', 'text'}]; rng / np_rng: the batcher's generators (checkpointed with it)."""
        self.enc = encoder
        self.rng, self.np_rng = rng, np_rng
        self.max_files = max_files
        by_pkg = {}
        for d in docs:
            by_pkg.setdefault(d['package'], []).append((package_relative(d['package'], d['path']), d['text']))
        self.packages = [files for _, files in sorted(by_pkg.items()) if len(files) > 1]
        sizes = [sum(len(t) for _, t in f) for f in self.packages]
        self.pkg_p = [s / sum(sizes) for s in sizes]
        self._windows = {}
        sp = encoder.special_ids
        self.PRE, self.SUF, self.MID, self.EOT = sp['<|fim_prefix|>'], sp['<|fim_suffix|>'], sp['<|fim_middle|>'], sp['<|endoftext|>']

    def _file_windows(self, key, text):
        w = self._windows.get(key)
        if w is None:
            w = self._windows[key] = windows(text)
        return w

    def snippets(self, pk, files, current, before, after):
        """Other files' windows, best Jaccard first (ties: file order, then line order), one window per overlap."""
        q = query_ids(before, after)
        others = [i for i in range(len(files)) if i != current]
        if len(others) > self.max_files:
            others = sorted(self.rng.sample(others, self.max_files))
        scored = []
        for fi in others:
            for wi, (w, ids) in enumerate(self._file_windows((pk, fi), files[fi][1])):
                s = jaccard(q, ids)
                if s > 0:
                    scored.append((-s, fi, wi, w))
        scored.sort()
        taken, out = set(), []
        for _, fi, wi, w in scored:
            if (fi, wi - 1) in taken or (fi, wi + 1) in taken or (fi, wi) in taken:
                continue
            taken.add((fi, wi))
            out.append((files[fi][0], w))
        return out

    def parts(self, n):
        """(context snippets as id lists, the current file's path line ids, FIM ids) of one sample of ≤ n tokens."""
        pk = int(self.np_rng.choice(len(self.packages), p=self.pkg_p))
        files = self.packages[pk]
        lens = [len(t) for _, t in files]
        cur = int(self.np_rng.choice(len(files), p=[x / sum(lens) for x in lens]))
        path, doc = files[cur]
        width = int(n * 3.3 * self.rng.uniform(0.3, 0.7))
        start = self.rng.randrange(0, max(1, len(doc) - width))
        text = doc[start:start + width]
        enc = self.enc.encode
        fim, i, j = fim_ids(self.rng, enc, text, self.PRE, self.SUF, self.MID, self.EOT)
        head = [self.EOT] + enc(path + '\n')
        budget = n - len(head) - len(fim)
        ctx = []
        for p, w in self.snippets(pk, files, cur, text[:i], text[j:]):
            # path and content encoded as one text, as the engine does (src/engine/contextPrompt.ts)
            piece = [self.EOT] + enc(p + '\n' + w)
            if len(piece) > budget:
                continue
            ctx.append(piece)
            budget -= len(piece)
            if budget < 24:
                break
        return ctx, head, fim

    def example(self, n):
        """One sample of at most n tokens: as many ranked snippets as fit before the current file's FIM part."""
        ctx, head, fim = self.parts(n)
        if not ctx:
            return fim  # no context: the plain FIM prompt, as the extension sends it
        # the extension's snippet order is its own choice: train on both orders (best first and best last)
        if self.rng.random() < 0.5:
            ctx.reverse()
        return [t for piece in ctx for t in piece] + head + fim
