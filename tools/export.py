"""Exports a trained model in the Hugging Face / Optimum ONNX layout that real Llama/Qwen2 exports use:

  <out>/config.json, tokenizer.json, tokenizer_config.json, generation_config.json,
  <out>/onnx/model.onnx   inputs : input_ids, attention_mask, position_ids, past_key_values.{i}.key|value
                          outputs: logits, present.{i}.key|value      (KV layout [batch, kv_heads, past, head_dim])
  <out>/reference.json    token ids and torch's logits for them, to check any runtime against

The first call feeds zero-length past tensors, as Optimum exports expect.
"""
import argparse
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import bpe  # noqa: E402
import model  # noqa: E402

# The models are trained on 512-token windows: rotary positions beyond that were never seen, so the exported
# config says 512 and the engine budgets prompts and completions inside it.
TRAINING_CONTEXT = 512


class OnnxWrapper(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, presents = self.m(input_ids, attention_mask, position_ids, past)
        flat = []
        for k, v in presents:
            flat += [k, v]
        return (logits, *flat)


def export(m: model.LlamaLM, name, tokenizer_dir, out, reference_ids):
    c = m.c
    m.eval()
    os.makedirs(os.path.join(out, 'onnx'), exist_ok=True)
    L = c.num_hidden_layers
    in_names = ['input_ids', 'attention_mask', 'position_ids']
    out_names = ['logits']
    dyn = {'input_ids': {0: 'batch_size', 1: 'sequence_length'},
           'attention_mask': {0: 'batch_size', 1: 'total_sequence_length'},
           'position_ids': {0: 'batch_size', 1: 'sequence_length'},
           'logits': {0: 'batch_size', 1: 'sequence_length'}}
    for i in range(L):
        for kv in ('key', 'value'):
            pn, on = f'past_key_values.{i}.{kv}', f'present.{i}.{kv}'
            in_names.append(pn)
            out_names.append(on)
            dyn[pn] = {0: 'batch_size', 2: 'past_sequence_length'}
            dyn[on] = {0: 'batch_size', 2: 'total_sequence_length'}
    s, p = 3, 2
    ids = torch.randint(0, c.vocab_size, (1, s))
    am = torch.ones(1, p + s, dtype=torch.int64)
    pos = torch.arange(p, p + s).unsqueeze(0)
    past = [torch.randn(1, c.num_key_value_heads, p, c.head_dim) for _ in range(2 * L)]
    path = os.path.join(out, 'onnx', 'model.onnx')
    torch.onnx.export(OnnxWrapper(m), (ids, am, pos, *past), path, input_names=in_names, output_names=out_names,
                      dynamic_axes=dyn, opset_version=14, do_constant_folding=True)
    for f in ('tokenizer.json', 'tokenizer_config.json'):
        shutil.copy(os.path.join(tokenizer_dir, f), os.path.join(out, f))
    enc = bpe.load_tokenizer(os.path.join(tokenizer_dir, 'tokenizer.json'))
    sp = enc.special_ids
    cfg = {
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama', 'torch_dtype': 'float32',
        'vocab_size': c.vocab_size, 'hidden_size': c.hidden_size, 'intermediate_size': c.intermediate_size,
        'num_hidden_layers': c.num_hidden_layers, 'num_attention_heads': c.num_attention_heads,
        'num_key_value_heads': c.num_key_value_heads, 'head_dim': c.head_dim, 'rope_theta': c.rope_theta,
        'rms_norm_eps': c.rms_norm_eps, 'max_position_embeddings': TRAINING_CONTEXT,
        'tie_word_embeddings': c.tie_word_embeddings, 'hidden_act': 'silu', 'attention_bias': False,
        'bos_token_id': sp['<|endoftext|>'], 'eos_token_id': sp['<|endoftext|>'], 'pad_token_id': sp['<|endoftext|>'],
        'lockstep': {'name': name, 'parameters': m.num_params(), 'training_context': TRAINING_CONTEXT},
    }
    json.dump(cfg, open(os.path.join(out, 'config.json'), 'w'), indent=2)
    json.dump({'bos_token_id': cfg['bos_token_id'], 'eos_token_id': cfg['eos_token_id'], 'pad_token_id': cfg['pad_token_id']},
              open(os.path.join(out, 'generation_config.json'), 'w'), indent=2)
    with torch.no_grad():
        logits, _ = m(torch.tensor([reference_ids]))
    ref = {'input_ids': reference_ids, 'logits_rows': [0, len(reference_ids) - 1],
           'logits': [logits[0, 0].tolist(), logits[0, -1].tolist()], 'source': 'torch float32, full pass, no past'}
    json.dump(ref, open(os.path.join(out, 'reference.json'), 'w'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--work', required=True)
    ap.add_argument('--out', required=True, help='models/ folder')
    ap.add_argument('--random-init', action='store_true', help='export untrained weights (for testing the exporter)')
    ap.add_argument('--target-run', default='target', help='checkpoint name (train.py --run) of the target')
    ap.add_argument('--distill-run', default='distill', help='checkpoint name of the drafters; none: the target only')
    args = ap.parse_args()
    enc = bpe.load_tokenizer(os.path.join(args.work, 'tokenizer', 'tokenizer.json'))
    ref_ids = enc.encode('function add(a, b) {\n  return a + b;\n}\n')
    jobs = [('target', f'{args.target_run}.ckpt', 'lockstep-target'), ('drafter-a', f'{args.distill_run}.ckpt', 'lockstep-drafter-a'),
            ('drafter-b', f'{args.distill_run}.ckpt', 'lockstep-drafter-b')]
    if args.distill_run == 'none':
        jobs = jobs[:1]
    for preset, ck, dirname in jobs:
        m = model.LlamaLM(model.PRESETS[preset])
        if not args.random_init:
            path = os.path.join(args.work, ck)
            if not os.path.exists(path):
                print(f'skip {preset}: {path} missing')
                continue
            m.load_state_dict(torch.load(path)['models'][preset])
        export(m, dirname, os.path.join(args.work, 'tokenizer'), os.path.join(args.out, dirname), ref_ids)
        print(f'exported {dirname}: {m.num_params()} parameters')


if __name__ == '__main__':
    main()
