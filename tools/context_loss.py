"""Held-out loss with and without cross-file context, for models read from their ONNX files (models/<name>/onnx).

On the held-out packages (never trained on): samples drawn as in training (repo_data.py), each scored twice —
  without: <|fim_prefix|>before<|fim_suffix|>after<|fim_middle|>middle<|endoftext|>   (the plain FIM prompt)
  with:    the package's other files' best snippets + <|endoftext|>{path}\n + the same FIM part
— the loss counting only the current file's tokens (the FIM part; `middle_nats` only the middle and its end token),
so the two differ only by what the context tells the model. `cross_file_points`: the same two scores at cursor
points whose middle starts with a name that occurs once in the current window and in a context snippet
(repo_data.copy_points; the snippet holding it is put first) — what copying from another file is worth. Also the plain held-out loss of agreement.py (the same
8 × 512-token sequences), to compare models without context on the same held-out set.

  python3 tools/context_loss.py --work tools/.work --models models [--before tools/.work/models-before] [--report models/training-report.json]
"""
import argparse
import hashlib
import json
import os
import random
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import bpe  # noqa: E402
import data  # noqa: E402
import from_onnx  # noqa: E402
import repo_data  # noqa: E402

MODELS = (('target', 'lockstep-target'), ('drafter-a', 'lockstep-drafter-a'), ('drafter-b', 'lockstep-drafter-b'))


def nll(m, ids, start, end):
    """Summed negative log-likelihood of ids[start:end] given everything before it."""
    x = torch.tensor([ids])
    with torch.no_grad():
        logits, _ = m(x[:, :-1])
    lp = F.log_softmax(logits[0, start - 1:end - 1], -1)
    return -lp.gather(1, x[0, start:end, None]).sum().item()


def score(m, samples):
    out = {'with': [0.0, 0, 0.0, 0], 'without': [0.0, 0, 0.0, 0]}
    for ctx, head, fim in samples:
        for arm, prefix in (('without', []), ('with', [t for c in ctx for t in c] + head)):
            ids = prefix + fim
            s = len(prefix) + 1  # the <|fim_prefix|> marker is not scored (without context nothing precedes it)
            m_start = len(prefix) + samples_mid(fim)
            o = out[arm]
            o[0] += nll(m, ids, s, len(ids))
            o[1] += len(ids) - s
            o[2] += nll(m, ids, m_start, len(ids))
            o[3] += len(ids) - m_start
    return {arm: {'file_nats': v[0] / v[1], 'middle_nats': v[2] / v[3], 'file_tokens': v[1], 'middle_tokens': v[3]} for arm, v in out.items()}


MID_ID = None


def samples_mid(fim):
    return fim.index(MID_ID) + 1


def plain_loss(m, batches):
    tot, cnt = 0.0, 0
    with torch.no_grad():
        for x in batches:
            lg, _ = m(x[:, :-1])
            tot += F.cross_entropy(lg[0], x[0, 1:], reduction='sum').item()
            cnt += x.shape[1] - 1
    return tot / cnt


def evaluate(models_dir, samples, batches, cache_dir, points):
    res = {}
    for preset, d in MODELS:
        md = os.path.join(models_dir, d)
        if not os.path.exists(md):
            continue
        # results are cached by the weights' hash: the models before retraining are scored once
        digest = hashlib.sha256(open(os.path.join(md, 'onnx', 'model.onnx'), 'rb').read()).hexdigest()[:16]
        cache = os.path.join(cache_dir, f'context_loss.{digest}.{len(samples)}.{len(points)}.json')
        if os.path.exists(cache):
            res[preset] = json.load(open(cache))
        else:
            m = from_onnx.load_onnx(md, preset)
            from_onnx.check_reference(m, md)
            res[preset] = {'onnx_sha256': digest, 'plain_heldout_nats': plain_loss(m, batches), **score(m, samples),
                           'cross_file_points': score(m, points)}
            json.dump(res[preset], open(cache, 'w'))
        print(models_dir, preset, json.dumps(res[preset]), flush=True)
    return res


def main():
    global MID_ID
    ap = argparse.ArgumentParser()
    ap.add_argument('--work', required=True)
    ap.add_argument('--models', required=True)
    ap.add_argument('--before', default=None, help='the models before retraining (a copy of models/), scored the same way')
    ap.add_argument('--report', default=None, help='training-report.json to add the result to')
    ap.add_argument('--samples', type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(2)
    enc = bpe.load_tokenizer(os.path.join(args.work, 'tokenizer', 'tokenizer.json'))
    MID_ID = enc.special_ids['<|fim_middle|>']
    held = data.Corpus(os.path.join(args.work, 'corpus'), 'heldout', enc, cache_dir=args.work)
    sampler = repo_data.RepoSampler(held.records, enc, random.Random(777), np.random.default_rng(777))
    samples = []
    while len(samples) < args.samples:
        ctx, head, fim = sampler.parts(512)
        if ctx:  # only samples that have context, so both arms score the same current-file tokens
            samples.append((ctx, head, fim))
    # cross-file points (repo_data.copy_points): the middle starts with a name only another file holds
    copier = repo_data.RepoSampler(held.records, enc, random.Random(778), np.random.default_rng(778))
    points = []
    while len(points) < args.samples:
        ctx, head, fim = copier.parts(512, copy=True)
        if copier.last_was_copy:
            points.append((ctx, head, fim))
    batches = [torch.from_numpy(data.Batcher(held, 512, seed=321 + i).batch(1)) for i in range(8)]
    result = {'samples': len(samples), 'packages': sorted({r['package'] for r in held.records}),
              'after': evaluate(args.models, samples, batches, args.work, points)}
    if args.before:
        result['before'] = evaluate(args.before, samples, batches, args.work, points)
    if args.report:
        rep = json.load(open(args.report)) if os.path.exists(args.report) else {}
        rep['repository_context'] = result
        json.dump(rep, open(args.report, 'w'), indent=2)
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
