"""Loads a shipped model back into torch from its ONNX initializers (models/<name>/onnx/model.onnx), so training can
fine-tune the shipped weights without the checkpoint that made them, and checks the result against reference.json.

The exporter folds the linear layers into MatMul initializers named onnx::MatMul_<n>, stored transposed ([in, out]),
in graph order: per layer q, k, v, o, gate, up, down, then the (tied) lm_head. Norms and the embedding keep names.
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
import model  # noqa: E402

LINEARS = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj']


def load_onnx(model_dir, preset):
    g = onnx.load(os.path.join(model_dir, 'onnx', 'model.onnx')).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    m = model.LlamaLM(model.PRESETS[preset])
    sd = {}
    for name, arr in inits.items():
        if name.startswith('m.'):
            sd[name[2:]] = torch.from_numpy(arr.copy())
    # MatMul weights in the order the graph uses them (node order is the forward pass order)
    matmuls = []
    for node in g.node:
        if node.op_type == 'MatMul':
            for inp in node.input:
                if inp in inits and not inp.startswith('m.') and inp not in matmuls:
                    matmuls.append(inp)
    L = m.c.num_hidden_layers
    if len(matmuls) != 7 * L + 1:
        raise ValueError(f'{len(matmuls)} MatMul initializers, expected {7 * L + 1}')
    for i in range(L):
        for j, lin in enumerate(LINEARS):
            sd[f'layers.{i}.{lin}.weight'] = torch.from_numpy(inits[matmuls[7 * i + j]].T.copy())
    sd['lm_head.weight'] = sd['embed_tokens.weight']
    m.load_state_dict(sd)
    m.eval()
    return m


def check_reference(m, model_dir, tol=1e-3):
    """Max |torch − reference| over the reference rows; raises when the loaded model does not reproduce them."""
    ref = json.load(open(os.path.join(model_dir, 'reference.json')))
    with torch.no_grad():
        logits, _ = m(torch.tensor([ref['input_ids']]))
    err = max(float(np.abs(logits[0, r].numpy() - np.array(row)).max()) for r, row in zip(ref['logits_rows'], ref['logits']))
    if err > tol:
        raise ValueError(f'{model_dir}: loaded weights differ from reference.json by {err}')
    return err


if __name__ == '__main__':
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for preset, d in (('target', 'lockstep-target'), ('drafter-a', 'lockstep-drafter-a'), ('drafter-b', 'lockstep-drafter-b')):
        md = os.path.join(root, 'models', d)
        print(d, 'max |Δlogit| vs reference.json:', check_reference(load_onnx(md, preset), md))
