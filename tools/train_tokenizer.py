"""Trains the byte-level BPE tokenizer on a sample of the training split and writes tokenizer.json + config."""
import argparse
import json
import os
import random
import time

import bpe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--corpus', required=True, help='folder with train.jsonl')
    ap.add_argument('--out', required=True)
    ap.add_argument('--vocab-size', type=int, default=4096)
    ap.add_argument('--sample-bytes', type=int, default=8_000_000)
    ap.add_argument('--model-max-length', type=int, default=1024)
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args()
    docs = [json.loads(l)['text'] for l in open(os.path.join(args.corpus, 'train.jsonl'))]
    random.Random(args.seed).shuffle(docs)
    sample, total = [], 0
    for d in docs:
        if total >= args.sample_bytes:
            break
        sample.append(d)
        total += len(d.encode())
    t0 = time.time()
    vocab, merges = bpe.train(sample, args.vocab_size)
    os.makedirs(args.out, exist_ok=True)
    bpe.write_tokenizer(args.out, vocab, merges, args.model_max_length)
    enc = bpe.Encoder(vocab, merges)
    n_tok = sum(len(enc.encode(d)) for d in sample[:200])
    n_bytes = sum(len(d.encode()) for d in sample[:200])
    print(f'trained {len(vocab)} tokens on {total} bytes in {time.time() - t0:.0f}s; {n_bytes / n_tok:.2f} bytes/token')


if __name__ == '__main__':
    main()
