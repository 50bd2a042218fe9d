"""Held-out report for the trained models: loss (nats/token) of each model, and each drafter's agreement with the
target on held-out code — total variation, greedy agreement, and the collision probability Pr[a=b] of the two
couplings in closed form (arXiv 2408.07978): Gumbel Σ_i 1/Σ_j max(p_j/p_i, q_j/q_i), Weighted MinHash
(Σ min(p,q) + Σ (p−q)⁺q + Σ (q−p)⁺p) / Σ max(p,q) — at T = 1 and T = 0.2. Writes models/training-report.json.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import bpe  # noqa: E402
import data  # noqa: E402
import model  # noqa: E402


def gumbel_agreement(p, q):
    """Σ_i 1/Σ_j max(p_j/p_i, q_j/q_i) in O(V log V): with r = p/q, the max is p_j/p_i exactly when r_j ≥ r_i."""
    mask = (p > 0) & (q > 0)
    p, q = p[mask], q[mask]
    order = np.argsort(p / q)
    p, q = p[order], q[order]
    # for index k in ascending r: Σ_{j ≥ k} p_j / p_k + Σ_{j < k} q_j / q_k  (ties: either side gives the same max)
    p_suffix = np.cumsum(p[::-1])[::-1]
    q_prefix = np.concatenate([[0.0], np.cumsum(q)[:-1]])
    return float(np.sum(1.0 / (p_suffix / p + q_prefix / q)))


def wmh_agreement(p, q):
    num = np.minimum(p, q).sum() + (np.maximum(p - q, 0) * q).sum() + (np.maximum(q - p, 0) * p).sum()
    return float(num / np.maximum(p, q).sum())


def load(work, preset, ckpt):
    m = model.LlamaLM(model.PRESETS[preset])
    m.load_state_dict(torch.load(os.path.join(work, ckpt))['models'][preset])
    m.eval()
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--work', required=True)
    ap.add_argument('--models', required=True)
    ap.add_argument('--sequences', type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(2)
    enc = bpe.load_tokenizer(os.path.join(args.work, 'tokenizer', 'tokenizer.json'))
    held = data.Corpus(os.path.join(args.work, 'corpus'), 'heldout', enc, cache_dir=args.work)
    batches = [torch.from_numpy(data.Batcher(held, 512, seed=321 + i).batch(1)) for i in range(args.sequences)]
    models = {'target': load(args.work, 'target', 'target.ckpt'),
              'drafter-a': load(args.work, 'drafter-a', 'distill.ckpt'),
              'drafter-b': load(args.work, 'drafter-b', 'distill.ckpt')}
    logits = {n: [] for n in models}
    losses = {}
    with torch.no_grad():
        for n, m in models.items():
            tot, cnt = 0.0, 0
            for x in batches:
                lg, _ = m(x[:, :-1])
                tot += F.cross_entropy(lg[0], x[0, 1:], reduction='sum').item()
                cnt += x.shape[1] - 1
                logits[n].append(lg[0].double())
            losses[n] = tot / cnt
    report = {'heldout_tokens': sum(x.shape[1] - 1 for x in batches), 'heldout_nats_per_token': losses,
              'parameters': {n: m.num_params() for n, m in models.items()}, 'agreement': {}}
    target = torch.cat(logits['target'])
    for d in ('drafter-a', 'drafter-b'):
        draft = torch.cat(logits[d])
        rows = {}
        greedy = float((target.argmax(-1) == draft.argmax(-1)).double().mean())
        for T in (1.0, 0.2):
            P = torch.softmax(target / T, -1).numpy()
            Q = torch.softmax(draft / T, -1).numpy()
            tv = 0.5 * np.abs(P - Q).sum(-1)
            g = np.array([gumbel_agreement(P[i], Q[i]) for i in range(len(P))])
            w = np.array([wmh_agreement(P[i], Q[i]) for i in range(len(P))])
            rows[f'T={T:g}'] = {'tv': float(tv.mean()), 'one_minus_tv': float(1 - tv.mean()),
                                'gumbel_pr_equal': float(g.mean()), 'wmh_pr_equal': float(w.mean()),
                                'lower_bound_(1-tv)/(1+tv)': float(((1 - tv) / (1 + tv)).mean())}
        rows['greedy_agreement'] = greedy
        report['agreement'][d] = rows
    out = os.path.join(args.models, 'training-report.json')
    json.dump(report, open(out, 'w'), indent=2)
    print(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()
