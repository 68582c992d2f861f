"""An independent float64 forward pass of a GGUF 'llama' model in numpy, from gguf-py's
dequantised tensors, in llama.cpp's own layout: q and k rows as the file stores them,
rotated in adjacent pairs (llama.cpp's normal RoPE), never converted to Hugging Face's.

Usage: FILE.gguf OUT.f32 ID...   writes the logits (positions x vocabulary) as float32.
"""
import sys

import numpy as np
import gguf

path, out, ids = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3:]]
r = gguf.GGUFReader(path)
meta = {k: f.contents() for k, f in r.fields.items() if not k.startswith("tokenizer.")}
W = {t.name: gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float64)
          .reshape([int(d) for d in reversed(t.shape)]) for t in r.tensors}
L, H, K = meta["llama.block_count"], meta["llama.attention.head_count"], meta["llama.attention.head_count_kv"]
eps, theta = meta["llama.attention.layer_norm_rms_epsilon"], meta["llama.rope.freq_base"]
C = meta["llama.embedding_length"]
D = C // H
T = len(ids)


def rms(x, w):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope(x):  # x: (T, heads, D); pairs (2i, 2i+1) rotated by angle p * theta^(-2i/D)
    pos = np.arange(T)[:, None]
    ang = pos * theta ** (-np.arange(0, D, 2) / D)  # (T, D/2)
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    y = np.empty_like(x)
    y[..., 0::2] = a * cos - b * sin
    y[..., 1::2] = a * sin + b * cos
    return y


x = W["token_embd.weight"][ids]
mask = np.triu(np.full((T, T), -np.inf), 1)
for l in range(L):
    p = f"blk.{l}."
    h = rms(x, W[p + "attn_norm.weight"])
    q = rope((h @ W[p + "attn_q.weight"].T).reshape(T, H, D))
    k = rope((h @ W[p + "attn_k.weight"].T).reshape(T, K, D))
    v = (h @ W[p + "attn_v.weight"].T).reshape(T, K, D)
    k, v = np.repeat(k, H // K, axis=1), np.repeat(v, H // K, axis=1)
    s = np.einsum("thd,shd->hts", q, k) / np.sqrt(D) + mask
    s = np.exp(s - s.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    y = np.einsum("hts,shd->thd", s, v).reshape(T, C)
    x = x + y @ W[p + "attn_output.weight"].T
    h = rms(x, W[p + "ffn_norm.weight"])
    g = h @ W[p + "ffn_gate.weight"].T
    x = x + ((g / (1 + np.exp(-g))) * (h @ W[p + "ffn_up.weight"].T)) @ W[p + "ffn_down.weight"].T
x = rms(x, W["output_norm.weight"])
out_w = W.get("output.weight", W["token_embd.weight"])
(x @ out_w.T).astype(np.float32).tofile(out)
