#pragma once
// Fused CPU kernels for training small models (issue 31: grokking-sized models, where a
// step is thousands of short rows and the time goes to element-wise passes and to
// thousands of tiny matrix products, not to the big ones).
//
// Each kernel replaces a chain of libtorch operations with one pass forward and one pass
// backward (a torch::autograd::Function), float32 on the CPU only; callers check
// `*_applies` and fall back to the plain operations otherwise. Tests check every kernel
// against the plain operations, values and gradients, and a training run against the
// plain path's loss trajectory (tests/model/fused_test.cpp).
//
// set_fused_kernels(false) switches them all off (and the trainer's output layer at
// counted positions only, train/trainer.cpp): `elab bench train --kernels plain` measures
// the step as it was before them.
#include <torch/torch.h>

namespace elab {

void set_fused_kernels(bool on);
bool fused_kernels();

// RMSNorm of the last dimension: x * rsqrt(mean(x^2) + eps) * w, or * (1 + w) (one_plus,
// Gemma's convention).
bool fused_rms_norm_applies(const torch::Tensor& x, const torch::Tensor& weight);
torch::Tensor fused_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps, bool one_plus);

// SwiGLU's gate: silu(g) * u, where gu = (..., 2F) holds g then u (the gate and up
// projections as one product). Returns (..., F).
bool fused_swiglu_applies(const torch::Tensor& gu);
torch::Tensor fused_swiglu(const torch::Tensor& gu);

// Causal self-attention over short rows with RoPE applied inside, read straight from the
// fused projection: qkv (B, T, H + 2K, D) holds the H query heads, then K key heads, then
// K value heads of each position; cos, sin: (T, D) tables of positions 0 .. T-1 in the
// rotate-half convention over all D dims. Query head h reads key head h / (H / K).
// Returns (B, T, H * D), the layout the output projection reads. Up to
// kShortAttentionMaxLen positions: one (query head, row) at a time fits in cache, where
// libtorch would make B x H matrix products of T x D each.
constexpr int64_t kShortAttentionMaxLen = 128;
// x: the attention's input (B, T, C); weight: the query projection's.
bool short_attention_applies(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& cos,
                             int64_t head_dim);
torch::Tensor short_causal_attention(const torch::Tensor& qkv, const torch::Tensor& cos, const torch::Tensor& sin,
                                     int64_t n_heads, int64_t n_kv_heads);

}  // namespace elab
