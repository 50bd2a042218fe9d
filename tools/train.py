"""Trains the target from data, or distils drafters from a trained target. Resumable: every checkpoint holds the
model(s), the optimizer, the step and the batcher's random state; rerunning the same command continues.

  python3 tools/train.py target  --work tools/.work --minutes 60
  python3 tools/train.py distill --work tools/.work --minutes 30     # drafter-a and drafter-b together
  # fine-tune the shipped models (read back from models/*/onnx) with repository-level samples (repo_data.py):
  python3 tools/train.py target  --work tools/.work --minutes 35 --init-from models --repo-rate 0.4 --lr 6e-4
  # the copying curriculum (tools/README.md): made-up names, copy samples, random-id repeats in code
  python3 tools/train.py target  --work tools/.work --minutes 40 --init-from models --rename-rate 0.5 --copy-batch 4 --induction-batch 16 --run target-copying

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
import copy_data  # noqa: E402
import copy_probe  # noqa: E402
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


def probe(m, pairs, names):
    m.eval()
    first, repeat = copy_probe.score(m, pairs)
    done, nats = copy_probe.name_score(m, names)
    m.train()
    return f'{first:.2f}->{repeat:.2f} names {done:.2f} ({nats:.2f} nats/token)'


def repeat_batch(b, vocab, stream, length=192):
    """Rows of real code (from `stream`) with a span of random ids (6–24 of them) written in twice, at random places:
    the loss counts the second copy after its first id, which only a model that finds the earlier copy by its content
    and reads on from it can predict (an induction head, Olsson et al. 2022). Random lengths and places matter: a
    fixed period is learnt as "copy from k positions back", which fails on anything else."""
    x = torch.empty(b, length, dtype=torch.long)
    mask = torch.zeros(b, length - 1, dtype=torch.bool)
    for r in range(b):
        s = int(torch.randint(0, len(stream) - length, ()))
        row = torch.from_numpy(stream[s:s + length].astype('int64'))
        n = int(torch.randint(6, 25, ()))
        span = torch.randint(8, vocab - 8, (n,))
        p1 = int(torch.randint(0, length // 2 - n, ()))
        p2 = int(torch.randint(p1 + n + 1, length - n, ()))
        row[p1:p1 + n] = span
        row[p2:p2 + n] = span
        x[r] = row
        mask[r, p2:p2 + n - 1] = True  # predictions at p2.. of ids p2+1..: the copy after its first id
    return x, mask


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
    ap.add_argument('--echo-rate', type=float, default=0.0, help='share of echo samples (data.Batcher._echo_example)')
    ap.add_argument('--rename-rate', type=float, default=0.0, help='share of samples with made-up names (rename.py)')
    ap.add_argument('--piece-share', type=float, default=0.0, help='share of made-up names built from token pieces (rename.py)')
    ap.add_argument('--induction-batch', type=int, default=0, help='random-id repeat sequences added to each step (repeat_batch)')
    ap.add_argument('--copy-batch', type=int, default=0,
                    help='copy samples added to each step, loss on their middle only (copy_data.py; needs --rename-rate)')
    ap.add_argument('--init-ckpt', default=None, help='start from the weights of this checkpoint name (not its optimizer)')
    ap.add_argument('--teacher', default='target', help='distill: the checkpoint name (--run) of the target to distil from')
    ap.add_argument('--eval-every', type=int, default=200)
    ap.add_argument('--run', default=None, help='checkpoint name (default: the mode), so a fine-tune does not resume another run')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    enc = bpe.load_tokenizer(os.path.join(args.work, 'tokenizer', 'tokenizer.json'))
    corpus = data.Corpus(os.path.join(args.work, 'corpus'), 'train', enc, cache_dir=args.work)
    held = data.Corpus(os.path.join(args.work, 'corpus'), 'heldout', enc, cache_dir=args.work)
    probe_pairs = copy_probe.probes(held, 24)
    probe_names = copy_probe.name_probes(held, 48)
    eval_batches = [torch.from_numpy(b) for b in (data.Batcher(held, args.seq, seed=123).batch(4) for _ in range(4))]
    if args.mode == 'target':
        names = ['target']
        total = args.total_steps or 1800
        peak = args.lr or 2e-3
    else:
        names = ['drafter-a', 'drafter-b']
        total = args.total_steps or 1500
        peak = args.lr or 3e-3
    ckpt_path = os.path.join(args.work, f'{args.run or args.mode}.ckpt')
    models = {n: model.LlamaLM(model.PRESETS[n]) for n in names}
    opts = {n: torch.optim.AdamW(models[n].parameters(), lr=peak, betas=(0.9, 0.95), weight_decay=0.1) for n in names}
    batcher = data.Batcher(corpus, args.seq, seed=1 if args.mode == 'target' else 2, repo_rate=args.repo_rate, copy_rate=args.copy_rate,
                           echo_rate=args.echo_rate, rename_rate=args.rename_rate,
                           piece_share=args.piece_share)
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
    if args.init_ckpt and step == 0:
        ck = torch.load(os.path.join(args.work, f'{args.init_ckpt}.ckpt'))
        for n in names:
            models[n].load_state_dict(ck['models'][n])
            opts[n] = torch.optim.AdamW(models[n].parameters(), lr=peak, betas=(0.9, 0.95), weight_decay=0.1)
        print(f'weights from {args.init_ckpt}.ckpt (its step {ck["step"]})', flush=True)
    copier = copy_data.CopyBatcher(batcher) if args.copy_batch else None
    teacher = None
    if args.mode == 'distill':
        teacher = model.LlamaLM(model.PRESETS['target'])
        teacher.load_state_dict(torch.load(os.path.join(args.work, f'{args.teacher}.ckpt'))['models']['target'])
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
                if copier is not None:
                    xc, mask = (torch.from_numpy(a) for a in copier.batch(args.copy_batch, args.seq))
                    c_logits, _ = m(xc[:, :-1])
                    loss = loss + F.cross_entropy(c_logits[mask], xc[:, 1:][mask])
                if args.induction_batch:
                    xr, rmask = repeat_batch(args.induction_batch, m.c.vocab_size, corpus.stream)
                    r_logits, _ = m(xr[:, :-1])
                    loss = loss + F.cross_entropy(r_logits[rmask], xr[:, 1:][rmask])
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
        if step % args.eval_every == 0 or step == total:
            print('eval ' + ' '.join(f'{n} heldout {evaluate(models[n], eval_batches):.3f} copy {probe(models[n], probe_pairs, probe_names)}'
                                     for n in names), flush=True)
    save(ckpt_path, {'models': {n: models[n].state_dict() for n in names}, 'opts': {n: opts[n].state_dict() for n in names},
                     'step': step, 'rng': batcher.rng.getstate(), 'np_rng': pickle.dumps(batcher.np_rng)})
    summary = {n: {'step': step, 'params': models[n].num_params(), 'heldout_nats': evaluate(models[n], eval_batches)} for n in names}
    json.dump(summary, open(os.path.join(args.work, f'{args.run or args.mode}.summary.json'), 'w'), indent=2)
    print(json.dumps(summary), flush=True)


if __name__ == '__main__':
    main()
