"""How well a model copies from earlier in its context (the induction behaviour cross-file context relies on).

Repeat probes: each sequence is  A F A  where A is a window of held-out code and F another window; the score is the
greedy accuracy on the second A's tokens after its first (a model that copies gets them right: it has seen them)
against the accuracy on the first A (what it predicts without the copy).

Induction probes: a span of 8 random ids written twice into held-out code at random places; the greedy accuracy on
the second copy after its first id. Only a model that finds the earlier copy by its content and reads on gets it
(an induction head); a model that learnt "copy from k positions back" on fixed-period repeats does not.

Periodic probes: 16 rows of random ids repeated with a fixed period (40, the period train.py's first copying stage
used, and 24), the greedy accuracy on the repeats: high at one period only means "copy from k positions back".

Name probes: held-out windows with their names renamed (rename.py), the cursor in a later occurrence of a made-up
name of two or more words, just after its first word, as a FIM prompt (the editor test's `const total = compute`
case): the share of probes whose greedy middle starts with the rest of the name (teacher-forced), which no model
can know without copying the earlier occurrence.

  python3 tools/copy_probe.py --work tools/.work --models models [--n 64]
  python3 tools/copy_probe.py --work tools/.work --ckpt target-copying      # a training checkpoint (train.py --run)
"""
import argparse
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import bpe  # noqa: E402
import data  # noqa: E402
import repo_data  # noqa: E402
import from_onnx  # noqa: E402
import model  # noqa: E402
import rename  # noqa: E402

A_LEN, F_LEN = 48, 160


def probes(held, n, seed=7):
    rng = random.Random(seed)
    s = held.stream
    out = []
    while len(out) < n:
        a0 = rng.randrange(0, len(s) - A_LEN)
        f0 = rng.randrange(0, len(s) - F_LEN)
        if abs(a0 - f0) < A_LEN + F_LEN:
            continue
        a = s[a0:a0 + A_LEN].tolist()
        out.append((a, s[f0:f0 + F_LEN].tolist()))
    return out


@torch.no_grad()
def score(m, pairs):
    """(accuracy on the first A, accuracy on the second A), tokens 1.. of each (the first can't be copied)."""
    first = second = total = 0
    for a, f in pairs:
        x = torch.tensor([a + f + a])
        pred = m(x)[0][0].argmax(-1)
        y = x[0, 1:]
        p = pred[:-1]
        o2 = len(a) + len(f)
        first += int((p[0:len(a) - 1] == y[0:len(a) - 1]).sum())
        second += int((p[o2:o2 + len(a) - 1] == y[o2:o2 + len(a) - 1]).sum())
        total += len(a) - 1
    return first / total, second / total


def induction_probes(held, n, seed=13, length=300, span=8):
    rng = random.Random(seed)
    s = held.stream
    out = []
    for _ in range(n):
        a = rng.randrange(0, len(s) - length)
        row = s[a:a + length].tolist()
        ids = [rng.randrange(8, 4088) for _ in range(span)]
        p1 = rng.randrange(0, length // 2 - span)
        p2 = rng.randrange(p1 + span + 1, length - span)
        row[p1:p1 + span] = ids
        row[p2:p2 + span] = ids
        out.append((row, p2, span))
    return out


@torch.no_grad()
def induction_score(m, probes):
    ok = total = 0
    for row, p2, span in probes:
        x = torch.tensor([row])
        pred = m(x)[0][0].argmax(-1)
        ok += int((pred[p2:p2 + span - 1] == x[0, p2 + 1:p2 + span]).sum())
        total += span - 1
    return ok / total


@torch.no_grad()
def periodic_score(m, period, rows=16, seed=17):
    g = torch.Generator().manual_seed(seed)
    r = torch.randint(8, 4088, (rows, period), generator=g)
    x = torch.cat([r, r, r[:, :period // 2]], 1)
    pred = m(x[:, :-1])[0].argmax(-1)
    return (pred[:, period - 1:] == x[:, period:]).float().mean().item()


def name_probes(held, n, seed=11, width=1400):
    """[(ids, start)]: FIM ids whose middle, from `start` on, is the rest of a made-up name seen earlier."""
    rng = random.Random(seed)
    renamer = rename.Renamer(held.docs)
    sp = held.enc.special_ids
    enc = held.enc.encode
    out = []
    while len(out) < n:
        doc = held.docs[rng.randrange(len(held.docs))]
        s = rng.randrange(0, max(1, len(doc) - width))
        r = renamer.session(rng)
        text = r(doc[s:s + width])
        fakes = [f for n0, f in sorted(r.table.items()) if f != n0 and len(rename.WORD.findall(f)) >= 2]
        cands = []
        for f in fakes:
            at = [m.start() for m in repo_data.IDENT.finditer(text) if m.group() == f]
            cands.extend((p, f) for p in at[1:])
        if not cands:
            continue
        p, f = cands[rng.randrange(len(cands))]
        w = rename.WORD.search(f.lstrip('_')).end() + (len(f) - len(f.lstrip('_')))
        eol = text.find('\n', p)
        rest = text[eol:] if eol >= 0 else ''
        head = [sp['<|fim_prefix|>']] + enc(text[:p + w]) + [sp['<|fim_suffix|>']] + enc(rest) + [sp['<|fim_middle|>']]
        ids = head + enc(f[w:])
        if len(ids) <= 512:
            out.append((ids, len(head)))
    return out


@torch.no_grad()
def name_score(m, probes):
    """(share of probes whose greedy tokens are the rest of the name, every one of them; nats/token of the rest)"""
    ok, nats, n = 0, 0.0, 0
    for ids, start in probes:
        x = torch.tensor([ids])
        logits = m(x[:, :-1])[0][0][start - 1:]
        target = x[0, start:]
        ok += int(bool((logits.argmax(-1) == target).all()))
        nats -= torch.log_softmax(logits, -1).gather(1, target[:, None]).sum().item()
        n += len(target)
    return ok / len(probes), nats / n


def loaded(args):
    """(preset, model) for each model of --models (ONNX, as shipped) or the target of --ckpt."""
    if args.ckpt:
        m = model.LlamaLM(model.PRESETS['target'])
        m.load_state_dict(torch.load(os.path.join(args.work, f'{args.ckpt}.ckpt'))['models']['target'])
        m.eval()
        yield 'target', m
        return
    for preset, d in (('target', 'lockstep-target'), ('drafter-a', 'lockstep-drafter-a'), ('drafter-b', 'lockstep-drafter-b')):
        md = os.path.join(args.models, d)
        if os.path.isdir(md):
            yield preset, from_onnx.load_onnx(md, preset)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--work', required=True)
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument('--models', help='folder holding lockstep-target (and optionally the drafters)')
    where.add_argument('--ckpt', help='a target checkpoint in --work, by its train.py --run name')
    ap.add_argument('--n', type=int, default=64)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--report', default=None, help='training-report.json: the results go under "copying"')
    ap.add_argument('--label', default=None, help='their key there (default: the models folder name)')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    enc = bpe.load_tokenizer(os.path.join(args.work, 'tokenizer', 'tokenizer.json'))
    held = data.Corpus(os.path.join(args.work, 'corpus'), 'heldout', enc, cache_dir=args.work)
    pairs = probes(held, args.n)
    names = name_probes(held, args.n)
    spans = induction_probes(held, args.n)
    out = {}
    for preset, m in loaded(args):
        a1, a2 = score(m, pairs)
        done, nats = name_score(m, names)
        out[preset] = {'first_accuracy': a1, 'repeat_accuracy': a2, 'copy_gain': a2 - a1,
                       'induction_accuracy': induction_score(m, spans), 'names_completed': done, 'name_rest_nats': nats,
                       'periodic_accuracy': {str(p): periodic_score(m, p) for p in (40, 24)}}
    print(json.dumps({'probes': len(pairs), 'a_tokens': A_LEN, 'filler_tokens': F_LEN, 'models': out}, indent=2))
    if args.report:
        rep = json.load(open(args.report))
        rep.setdefault('copying', {})[args.label or os.path.basename(os.path.abspath(args.models or args.ckpt))] = out
        json.dump(rep, open(args.report, 'w'), indent=2)


if __name__ == '__main__':
    main()
