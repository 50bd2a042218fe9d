"""Trains the target from data, or distils drafters from a trained target. Resumable: every checkpoint holds the
model(s), the optimizer, the step and the batcher's random state; rerunning the same command continues.

  python3 tools/train.py target  --work tools/.work --minutes 60
  python3 tools/train.py distill --work tools/.work --minutes 30     # drafter-a and drafter-b together
  # fine-tune the shipped models (read back from models/*/onnx) with repository-level samples (repo_data.py):
  python3 tools/train.py target  --work tools/.work --minutes 35 --init-from models --repo-rate 0.4 --lr 6e-4

Distillation minimises KL(target || drafter) at temperature 1 on the target's full distributions, plus a small
cross-entropy term on the data, so the drafters agree with the target rather than with the corpus.
"""
import argparse
import json
import math
import os
import pickle
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import bpe  # noqa: E402
import data  # noqa: E402
import from_onnx  # noqa: E402
import model  # noqa: E402


def lr_at(step, total, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def save(path, obj):
    tmp = path + '.tmp'
    torch.save(obj, tmp)
    os.replace(tmp, path)


@torch.no_grad()
def evaluate(m, batches):
    m.eval()
    tot, n = 0.0, 0
    for x in batches:
        logits, _ = m(x[:, :-1])
        tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction='sum').item()
        n += x[:, 1:].numel()
    m.train()
    return tot / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['target', 'distill'])
    ap.add_argument('--work', required=True)
    ap.add_argument('--minutes', type=float, required=True, help='wall-clock budget of this run')
    ap.add_argument('--total-steps', type=int, default=None, help='LR schedule length')
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--seq', type=int, default=512)
    ap.add_argument('--lr', type=float, default=None)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--init-from', default=None, help='models/ folder: start from the shipped ONNX weights (fine-tuning)')
    ap.add_argument('--repo-rate', type=float, default=0.0, help='share of repository-level samples (repo_data.py)')
    ap.add_argument('--copy-rate', type=float, default=0.0,
                    help='of the repository-level samples, the share with the cursor at a cross-file point')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    enc = bpe.load_tokenizer(os.path.join(args.work, 'tokenizer', 'tokenizer.json'))
    corpus = data.Corpus(os.path.join(args.work, 'corpus'), 'train', enc, cache_dir=args.work)
    held = data.Corpus(os.path.join(args.work, 'corpus'), 'heldout', enc, cache_dir=args.work)
    eval_batches = [torch.from_numpy(b) for b in (data.Batcher(held, args.seq, seed=123).batch(4) for _ in range(4))]
    if args.mode == 'target':
        names = ['target']
        total = args.total_steps or 1800
        peak = args.lr or 2e-3
    else:
        names = ['drafter-a', 'drafter-b']
        total = args.total_steps or 1500
        peak = args.lr or 3e-3
    ckpt_path = os.path.join(args.work, f'{args.mode}.ckpt')
    models = {n: model.LlamaLM(model.PRESETS[n]) for n in names}
    opts = {n: torch.optim.AdamW(models[n].parameters(), lr=peak, betas=(0.9, 0.95), weight_decay=0.1) for n in names}
    batcher = data.Batcher(corpus, args.seq, seed=1 if args.mode == 'target' else 2, repo_rate=args.repo_rate, copy_rate=args.copy_rate)
    step = 0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        for n in names:
            models[n].load_state_dict(ck['models'][n])
            opts[n].load_state_dict(ck['opts'][n])
        step = ck['step']
        batcher.rng.setstate(ck['rng'])
        batcher.np_rng = pickle.loads(ck['np_rng'])
        print(f'resumed at step {step}', flush=True)
    elif args.init_from:
        dirs = {'target': 'lockstep-target', 'drafter-a': 'lockstep-drafter-a', 'drafter-b': 'lockstep-drafter-b'}
        for n in names:
            md = os.path.join(args.init_from, dirs[n])
            models[n] = from_onnx.load_onnx(md, n)
            # refuse to fine-tune weights that do not reproduce the shipped model's reference logits
            print(f'{n}: loaded from {md}, max |Δlogit| vs reference.json {from_onnx.check_reference(models[n], md):.2e}', flush=True)
            models[n].train()
            opts[n] = torch.optim.AdamW(models[n].parameters(), lr=peak, betas=(0.9, 0.95), weight_decay=0.1)
    teacher = None
    if args.mode == 'distill':
        teacher = model.LlamaLM(model.PRESETS['target'])
        teacher.load_state_dict(torch.load(os.path.join(args.work, 'target.ckpt'))['models']['target'])
        teacher.eval()
    for n in names:
        print(f'{n}: {models[n].num_params()} parameters', flush=True)
    deadline = time.time() + args.minutes * 60
    last_save = time.time()
    t0, tok0 = time.time(), 0
    while step < total and time.time() < deadline:
        x = torch.from_numpy(batcher.batch(args.batch))
        inp, tgt = x[:, :-1], x[:, 1:]
        lr = lr_at(step, total, peak, warmup=min(100, total // 10))
        if teacher is not None:
            with torch.no_grad():
                t_logits, _ = teacher(inp)
                t_logp = F.log_softmax(t_logits, dim=-1)
                t_p = t_logp.exp()
        losses = {}
        for n in names:
            m, opt = models[n], opts[n]
            for g in opt.param_groups:
                g['lr'] = lr
            logits, _ = m(inp)
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))
            if teacher is None:
                loss = ce
            else:
                kl = (t_p * (t_logp - F.log_softmax(logits, dim=-1))).sum(-1).mean()
                loss = kl + 0.1 * ce
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()
            losses[n] = (ce.item(), loss.item())
        step += 1
        tok0 += inp.numel()
        if step % 20 == 0:
            rate = tok0 / (time.time() - t0)
            print(f'step {step}/{total} lr {lr:.2e} ' + ' '.join(f'{n} ce {c:.3f} loss {l:.3f}' for n, (c, l) in losses.items())
                  + f' {rate:.0f} tok/s', flush=True)
        if time.time() - last_save > 120 or step == total:
            save(ckpt_path, {'models': {n: models[n].state_dict() for n in names}, 'opts': {n: opts[n].state_dict() for n in names},
                             'step': step, 'rng': batcher.rng.getstate(), 'np_rng': pickle.dumps(batcher.np_rng)})
            last_save = time.time()
        if step % 200 == 0 or step == total:
            print('eval ' + ' '.join(f'{n} heldout {evaluate(models[n], eval_batches):.3f}' for n in names), flush=True)
    save(ckpt_path, {'models': {n: models[n].state_dict() for n in names}, 'opts': {n: opts[n].state_dict() for n in names},
                     'step': step, 'rng': batcher.rng.getstate(), 'np_rng': pickle.dumps(batcher.np_rng)})
    summary = {n: {'step': step, 'params': models[n].num_params(), 'heldout_nats': evaluate(models[n], eval_batches)} for n in names}
    json.dump(summary, open(os.path.join(args.work, f'{args.mode}.summary.json'), 'w'), indent=2)
    print(json.dumps(summary), flush=True)


if __name__ == '__main__':
    main()
