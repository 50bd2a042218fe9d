"""A Llama-style decoder: RMSNorm, rotary positions from position_ids, grouped-query attention, SwiGLU.

`forward` takes the same inputs as the Optimum ONNX export of real Llama/Qwen2 models (input_ids, attention_mask,
position_ids, past key/values [batch, kv_heads, past, head_dim]) and builds the causal mask from attention_mask and
the past length inside the graph, so the exported model is a drop-in for the engine's real-model code path.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 4096
    hidden_size: int = 256
    intermediate_size: int = 768
    num_hidden_layers: int = 8
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 64
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    max_position_embeddings: int = 1024
    tie_word_embeddings: bool = True

    def to_dict(self):
        return asdict(self)


PRESETS = {
    # the target: as large as a couple of CPU hours train well
    'target': Config(hidden_size=256, intermediate_size=768, num_hidden_layers=8, num_attention_heads=4,
                     num_key_value_heads=2, head_dim=64),
    # drafter A: ~0.35M parameters, most of them the embedding
    'drafter-a': Config(hidden_size=64, intermediate_size=192, num_hidden_layers=1, num_attention_heads=2,
                        num_key_value_heads=1, head_dim=32),
    # drafter B: ~0.9M parameters, two layers
    'drafter-b': Config(hidden_size=128, intermediate_size=384, num_hidden_layers=2, num_attention_heads=4,
                        num_key_value_heads=1, head_dim=32),
}


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.q_proj = nn.Linear(c.hidden_size, c.num_attention_heads * c.head_dim, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.o_proj = nn.Linear(c.num_attention_heads * c.head_dim, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask_bias, past_k, past_v):
        c = self.c
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, c.num_attention_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        present = (k, v)
        rep = c.num_attention_heads // c.num_key_value_heads
        t = k.shape[2]
        kk = k[:, :, None].expand(b, c.num_key_value_heads, rep, t, c.head_dim).reshape(b, c.num_attention_heads, t, c.head_dim)
        vv = v[:, :, None].expand(b, c.num_key_value_heads, rep, t, c.head_dim).reshape(b, c.num_attention_heads, t, c.head_dim)
        scores = torch.matmul(q, kk.transpose(2, 3)) * (1.0 / math.sqrt(c.head_dim)) + mask_bias
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, vv).transpose(1, 2).reshape(b, s, c.num_attention_heads * c.head_dim)
        return self.o_proj(out), present


class MLP(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, mask_bias, past_k, past_v):
        h, present = self.self_attn(self.input_layernorm(x), cos, sin, mask_bias, past_k, past_v)
        x = x + h
        return x + self.mlp(self.post_attention_layernorm(x)), present


class LlamaLM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Block(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        if c.tie_word_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, c.head_dim, 2).float() / c.head_dim))
        self.register_buffer('inv_freq', inv_freq, persistent=False)
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def num_params(self):
        return sum(p.numel() for p in self.parameters())

    def forward(self, input_ids, attention_mask=None, position_ids=None, past=None):
        """past: list of (k, v) per layer or None. Returns (logits, presents)."""
        b, s = input_ids.shape
        past_len = past[0][0].shape[2] if past is not None else 0
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + s).unsqueeze(0).expand(b, s)
        if attention_mask is None:
            attention_mask = torch.ones(b, past_len + s, dtype=torch.long)
        total = attention_mask.shape[1]
        # causal mask from the past length, combined with the padding mask (query i sits at cache slot past_len + i)
        q_idx = torch.arange(s).unsqueeze(1) + (total - s)
        k_idx = torch.arange(total).unsqueeze(0)
        allowed = (k_idx <= q_idx).unsqueeze(0).unsqueeze(0) & (attention_mask[:, None, None, :] > 0)
        mask_bias = torch.where(allowed, torch.zeros((), dtype=torch.float32), torch.full((), -1e30, dtype=torch.float32))
        freqs = position_ids.float().unsqueeze(-1) * self.inv_freq
        emb = torch.cat([freqs, freqs], dim=-1)
        cos = emb.cos().unsqueeze(1)
        sin = emb.sin().unsqueeze(1)
        x = self.embed_tokens(input_ids)
        presents = []
        for i, layer in enumerate(self.layers):
            pk, pv = past[i] if past is not None else (None, None)
            x, present = layer(x, cos, sin, mask_bias, pk, pv)
            presents.append(present)
        return self.lm_head(self.norm(x)), presents
