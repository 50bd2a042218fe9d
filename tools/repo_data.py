"""Repository-level samples: files of one package in the prompt format the extension sends with cross-file context,

  for each snippet: <|endoftext|>{path}\n{snippet}      (whole lines, ending with "\n")
  then:             <|endoftext|>{currentPath}\n<|fim_prefix|>before<|fim_suffix|>after<|fim_middle|>middle<|endoftext|>

Paths are package-relative with forward slashes. Snippets are 16-line windows (stride 8) of the package's other files
ranked by the Jaccard similarity of their identifiers with the lines around the cursor — the retrieval of
CrossCodeEval (Ding et al. 2023) that the extension's src/engine/prompt/snippets.ts also uses — so training sees the
context the model is given at completion time. Packages with a single file give no samples.
"""
import re
from collections import Counter

from fim_sample import fim_ids, fim_ids_at

IDENT = re.compile(r'[A-Za-z_$][A-Za-z0-9_$]*')
WINDOW_LINES, WINDOW_STRIDE = 16, 8
QUERY_BEFORE, QUERY_AFTER = 16, 4
# identifiers that say nothing about the other files (keywords, globals, the commonest names)
COMMON = frozenset('''break case catch class const continue debugger default delete do else export extends false
finally for function if import in instanceof let new null return super switch this throw true try typeof undefined
var void while with yield async await of static get set from require module exports prototype length push call apply
bind console value name type args options data result error err Object Array String Number Boolean Promise JSON Math
Error Symbol Map Set self that callback done resolve reject'''.split())
MIN_COPY_LEN = 4
CODE_NAME = re.compile(r'.[A-Z0-9_$]|^[A-Z]')  # camelCase, snake_case, PascalCase: names, not words in comments
COMMENT_LINE = re.compile(r'\s*(//|/\*|\*|#)')


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


def copy_points(text, files_with):
    """(start, identifier) for each identifier that occurs once in `text` and in another file of the package
    (`files_with[name]` counts the package's files containing it, this one included): at such a cursor only the
    context can tell the model the name — the points CrossCodeEval (Ding et al. 2023) selects."""
    starts = {}
    for m in IDENT.finditer(text):
        starts.setdefault(m.group(), []).append(m.start())
    return sorted((at[0], name) for name, at in starts.items()
                  if len(at) == 1 and len(name) >= MIN_COPY_LEN and name not in COMMON and CODE_NAME.search(name)
                  and files_with.get(name, 0) >= 2 and not COMMENT_LINE.match(text, text.rfind('\n', 0, at[0]) + 1))


def jaccard(a, b):
    common = len(a & b)
    union = len(a) + len(b) - common
    return common / union if union else 0.0


class RepoSampler:
    def __init__(self, docs, encoder, rng, np_rng, max_files=40, copy_rate=0.0):
        """docs: [{'package', 'path', 'text'}]; rng / np_rng: the batcher's generators (checkpointed with it).
        copy_rate: share of samples whose cursor is a cross-file point (copy_points); 0 keeps the earlier stream."""
        self.enc = encoder
        self.rng, self.np_rng = rng, np_rng
        self.max_files = max_files
        self.copy_rate = copy_rate
        self._files_with = {}
        self.last_was_copy = False  # whether parts() gave a cross-file point
        self.rename = None  # this sample's rename.py session (example() sets it)
        self.encode = encoder.encode  # this sample's text → ids
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

    def snippets(self, pk, files, current, before, after, prefer=None):
        """Other files' windows, best Jaccard first (ties: file order, then line order), one window per overlap;
        with `prefer`, the windows holding that identifier come first (a cross-file point's oracle context)."""
        q = query_ids(before, after)
        others = [i for i in range(len(files)) if i != current]
        if len(others) > self.max_files:
            others = sorted(self.rng.sample(others, self.max_files))
        scored = []
        for fi in others:
            for wi, (w, ids) in enumerate(self._file_windows((pk, fi), files[fi][1])):
                s = jaccard(q, ids)
                if prefer is not None and prefer in ids:
                    scored.append((-1 - s, fi, wi, w))
                elif s > 0:
                    scored.append((-s, fi, wi, w))
        scored.sort()
        taken, out = set(), []
        for _, fi, wi, w in scored:
            if (fi, wi - 1) in taken or (fi, wi + 1) in taken or (fi, wi) in taken:
                continue
            taken.add((fi, wi))
            out.append((files[fi][0], w, self._file_windows((pk, fi), files[fi][1])[wi][1]))
        return out

    def files_with(self, pk):
        """identifier → how many of package pk's files contain it"""
        c = self._files_with.get(pk)
        if c is None:
            c = self._files_with[pk] = Counter(name for _, t in self.packages[pk] for name in set(IDENT.findall(t)))
        return c

    def context(self, pk, files, cur, before, after, budget, prefer=None):
        """Ranked snippets that fit the budget, as id lists, and the identifiers they hold."""
        enc = self.encode
        ctx, names = [], set()
        for p, w, ids in self.snippets(pk, files, cur, before, after, prefer):
            # path and content encoded as one text, as the engine does (src/engine/prompt/contextPrompt.ts)
            piece = [self.EOT] + enc(p + '\n' + w)
            if len(piece) > budget:
                continue
            ctx.append(piece)
            names |= ids
            budget -= len(piece)
            if budget < 24:
                break
        return ctx, names

    def copy_fim(self, pk, files, cur, text, room, tries=4, typed=None):
        """(ctx, FIM ids) with the cursor at a cross-file point, else None. The context is the ranked snippets with
        the best window holding the name put first (the extension's retrieval finds it only some of the time; the
        point of these samples is to teach copying from context). The middle runs to the end of the line; a third
        of the time the name's first characters are typed (`typed(name)`: how many, when given)."""
        points = copy_points(text, self.files_with(pk))
        if not points:
            return None
        for _ in range(tries):
            start, name = points[self.rng.randrange(len(points))]
            if typed is not None:
                i = start + typed(name)
            else:
                i = start + (self.rng.randrange(1, min(4, len(name))) if self.rng.random() < 1 / 3 else 0)
            eol = text.find('\n', start)
            j = len(text) if eol < 0 else eol
            fim = fim_ids_at(self.enc.encode, text, i, j, self.PRE, self.SUF, self.MID, self.EOT, self.rename)
            ctx, names = self.context(pk, files, cur, text[:i], text[j:], room - len(fim), prefer=name)
            if name in names:
                return ctx, fim
        return None

    def parts(self, n, copy=False, typed=None):
        """(context snippets as id lists, the current file's path line ids, FIM ids) of one sample of ≤ n tokens;
        copy: try a cross-file cursor point first (copy_fim)."""
        pk = int(self.np_rng.choice(len(self.packages), p=self.pkg_p))
        files = self.packages[pk]
        lens = [len(t) for _, t in files]
        cur = int(self.np_rng.choice(len(files), p=[x / sum(lens) for x in lens]))
        path, doc = files[cur]
        # a cross-file point's sample keeps more of its tokens for the context that holds the answer
        width = int(n * 3.3 * self.rng.uniform(0.3, 0.7) * (0.5 if copy else 1))
        start = self.rng.randrange(0, max(1, len(doc) - width))
        text = doc[start:start + width]
        enc = self.encode
        head = [self.EOT] + enc(path + '\n')
        self.last_was_copy = False
        if copy:
            got = self.copy_fim(pk, files, cur, text, n - len(head), typed=typed)
            if got:
                self.last_was_copy = True
                return got[0], head, got[1]
        fim, i, j = fim_ids(self.rng, self.enc.encode, text, self.PRE, self.SUF, self.MID, self.EOT, self.rename)
        ctx, _ = self.context(pk, files, cur, text[:i], text[j:], n - len(head) - len(fim))
        return ctx, head, fim

    def example(self, n, rename=None):
        """One sample of at most n tokens: as many ranked snippets as fit before the current file's FIM part.
        rename: a rename.py session, applied to every text of the sample (snippets, paths, the current file)."""
        self.rename = rename
        self.encode = self.enc.encode if rename is None else (lambda text: self.enc.encode(rename(text)))
        copy = self.copy_rate > 0 and self.rng.random() < self.copy_rate
        ctx, head, fim = self.parts(n, copy)
        if not ctx:
            return fim  # no context: the plain FIM prompt, as the extension sends it
        # the extension's snippet order is its own choice: train on both orders (best first and best last)
        if self.rng.random() < 0.5:
            ctx.reverse()
        return [t for piece in ctx for t in piece] + head + fim
