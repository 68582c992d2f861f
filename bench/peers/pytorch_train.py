#!/usr/bin/env python3
"""The peer of `elab bench train`: the same model trained by a plain PyTorch eager loop.

What a user would otherwise write with nanoGPT: a Llama-style decoder (RMSNorm, RoPE in
the rotate-half convention, SwiGLU, tied embeddings, no biases) built from a preset's
config.json (`elab models config PRESET`), the same init (N(0, initializer_range),
residual projections scaled by 1/sqrt(2L)), AdamW (0.9, 0.95, eps 1e-8, weight decay 0.1
on matrices), gradient clipping at 1.0, cross-entropy on every token, batch x seq-len
random tokens. Prints one line: tokens_per_s=... step_ms=...

Run with Debian's python3-torch (/usr/bin/python3): the same libtorch 1.13 underneath; with
--compile, the project's virtual environment's torch 2.x (bench/small-models.sh).
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    a, b = x.chunk(2, -1)
    return torch.cat((-b, a), -1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, self.h, self.kv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = d // self.h
        self.q = nn.Linear(d, self.h * self.hd, bias=False)
        self.k = nn.Linear(d, self.kv * self.hd, bias=False)
        self.v = nn.Linear(d, self.kv * self.hd, bias=False)
        self.o = nn.Linear(self.h * self.hd, d, bias=False)
        f = c["intermediate_size"]
        self.gate = nn.Linear(d, f, bias=False)
        self.up = nn.Linear(d, f, bias=False)
        self.down = nn.Linear(f, d, bias=False)
        self.n1 = RMSNorm(d, c["rms_norm_eps"])
        self.n2 = RMSNorm(d, c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask, keep=None):
        B, T, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.kv, self.hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.kv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if self.kv != self.h:
            k = k.repeat_interleave(self.h // self.kv, 1)
            v = v.repeat_interleave(self.h // self.kv, 1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        a = self.o((att @ v).transpose(1, 2).reshape(B, T, -1))
        if keep is not None:  # past attention, every step is per position: the kept ones only
            x, a = x.reshape(B * T, -1)[keep], a.reshape(B * T, -1)[keep]
        x = x + a
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Model(nn.Module):
    def __init__(self, c, seq_len):
        super().__init__()
        d = c["hidden_size"]
        self.embed = nn.Embedding(c["vocab_size"], d)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(d, c["rms_norm_eps"])
        hd = d // c["num_attention_heads"]
        inv = c["rope_theta"] ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
        ang = torch.outer(torch.arange(seq_len, dtype=torch.float64), inv)
        tab = torch.cat((ang, ang), -1)
        self.register_buffer("cos", tab.cos().float().view(1, 1, seq_len, hd))
        self.register_buffer("sin", tab.sin().float().view(1, 1, seq_len, hd))
        self.register_buffer("mask", torch.ones(seq_len, seq_len, dtype=torch.bool).triu(1))
        std, resid = c["initializer_range"], c["initializer_range"] / math.sqrt(2 * c["num_hidden_layers"])
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, resid if name.endswith(("o.weight", "down.weight")) else std)

    def forward(self, idx, targets, keep=None, keep_last_block=False):
        T = idx.shape[1]
        x = self.embed(idx)
        for i, b in enumerate(self.blocks):
            last = keep is not None and keep_last_block and i + 1 == len(self.blocks)
            x = b(x, self.cos[:, :, :T], self.sin[:, :, :T], self.mask[:T, :T], keep if last else None)
        x = x.reshape(-1, x.size(-1))
        targets = targets.reshape(-1)
        if keep is not None:  # only the positions in the loss meet the output layer
            if not keep_last_block:
                x = x[keep]
            targets = targets[keep]
        logits = F.linear(self.norm(x), self.embed.weight)
        return F.cross_entropy(logits, targets)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="a preset's config.json (elab models config PRESET)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (OpenBLAS: OPENBLAS_NUM_THREADS)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: the forward pass under torch.autocast('cpu', bfloat16), as elab --precision bf16")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (inductor; torch 2.x)")
    ap.add_argument("--counted", type=int, default=0,
                    help="tokens in the loss per step (elab bench train's counted_per_step): only those positions "
                         "meet the output layer, as elab does with the loss on answers (0: every position)")
    ap.add_argument("--keep-last-block", action="store_true",
                    help="with --counted: the last block's residual and MLP on the counted positions only, as elab")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    c = json.load(open(a.config))
    model = Model(c, a.seq_len)
    forward = torch.compile(model) if a.compile else model
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    data = torch.randint(0, 256, (a.steps + 3, a.batch, a.seq_len + 1))
    # The same number of counted positions every step, spread over the rows like answers.
    keep = None
    if a.counted > 0:
        keep = torch.randperm(a.batch * a.seq_len, generator=torch.Generator().manual_seed(1))[:a.counted].sort().values

    def step(i):
        x, y = data[i, :, :-1], data[i, :, 1:]
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            loss = forward(x, y, keep, a.keep_last_block)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for i in range(3):  # warm-up, as elab bench train (and torch.compile's compilation)
        step(i)
    t0 = time.perf_counter()
    for i in range(a.steps):
        step(3 + i)
    secs = time.perf_counter() - t0
    print(f"pytorch tokens_per_s={a.steps * a.batch * a.seq_len / secs:.0f} step_ms={1000 * secs / a.steps:.1f} "
          f"threads={a.threads} precision={a.precision} params={sum(p.numel() for p in model.parameters())} "
          f"compile={int(a.compile)} counted={a.counted} keep_last_block={int(a.keep_last_block)}")


if __name__ == "__main__":
    main()
