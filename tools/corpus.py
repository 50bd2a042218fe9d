"""Collects real JS/TS source from installed npm packages into train / held-out text files.

Skips minified and generated bundles, and near-copies (many packages ship the same code as src, cjs, esm and
umd builds): a file is dropped when most of its distinct non-trivial lines were already seen.
Held-out packages (marked in corpus_packages.txt) and all their files go to the held-out split only.
"""
import argparse
import hashlib
import json
import os

EXTS = ('.js', '.mjs', '.cjs', '.ts', '.tsx', '.jsx', '.mts', '.cts')
SKIP_DIRS = {'.bin', '.cache', 'test-results', 'coverage'}


def read_manifest(path):
    heldout = set()
    for line in open(path):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        parts = line.split()
        name = parts[0].rsplit('@', 1)[0]
        if 'heldout' in parts[1:]:
            heldout.add(name)
    return heldout


def looks_minified(text):
    lines = text.split('\n')
    if not lines:
        return True
    longest = max(len(l) for l in lines)
    avg = len(text) / len(lines)
    return longest > 1000 or avg > 160 or '.min.' in text[:0]


def package_of(rel):
    parts = rel.split(os.sep)
    if parts[0].startswith('@') and len(parts) > 1:
        return parts[0] + '/' + parts[1]
    return parts[0]


def collect(node_modules, heldout):
    files = []
    for root, dirs, names in os.walk(node_modules):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for n in sorted(names):
            if not n.endswith(EXTS) or '.min.' in n:
                continue
            path = os.path.join(root, n)
            rel = os.path.relpath(path, node_modules)
            # nested node_modules belong to the package that holds them
            files.append((package_of(rel), rel, path))
    return files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--node-modules', required=True)
    ap.add_argument('--manifest', default=os.path.join(os.path.dirname(__file__), 'corpus_packages.txt'))
    ap.add_argument('--out', required=True)
    ap.add_argument('--max-file-bytes', type=int, default=400_000)
    args = ap.parse_args()
    heldout = read_manifest(args.manifest)
    os.makedirs(args.out, exist_ok=True)
    seen_lines = set()
    stats = {'train': [0, 0], 'heldout': [0, 0], 'skipped_minified': 0, 'skipped_dup': 0, 'skipped_big': 0}
    # held-out packages first, so training never keeps a near-copy of held-out code
    files = collect(args.node_modules, heldout)
    files.sort(key=lambda f: (f[0] not in heldout, f[1]))
    out = {'train': [], 'heldout': []}
    for pkg, rel, path in files:
        try:
            raw = open(path, 'rb').read()
        except OSError:
            continue
        if len(raw) > args.max_file_bytes:
            stats['skipped_big'] += 1
            continue
        try:
            text = raw.decode('utf-8')
        except UnicodeDecodeError:
            continue
        if not text.strip() or looks_minified(text):
            stats['skipped_minified'] += 1
            continue
        keys = {hashlib.blake2b(l.strip().encode(), digest_size=8).digest() for l in text.split('\n') if len(l.strip()) > 24}
        if keys:
            dup = sum(1 for k in keys if k in seen_lines) / len(keys)
            if dup > 0.5:
                stats['skipped_dup'] += 1
                continue
            seen_lines.update(keys)
        split = 'heldout' if pkg in heldout else 'train'
        out[split].append({'package': pkg, 'path': rel, 'text': text})
        stats[split][0] += 1
        stats[split][1] += len(raw)
    for split, docs in out.items():
        with open(os.path.join(args.out, split + '.jsonl'), 'w') as f:
            for d in docs:
                f.write(json.dumps(d) + '\n')
    print(json.dumps(stats))


if __name__ == '__main__':
    main()
