#pragma once
// Scaled dot-product attention, the one place where libtorch 1.13 and 2.x differ for us:
// 2.x has a fused at::scaled_dot_product_attention, 1.13 does not. The reference path
// (plain matmul + softmax) is always available and tests check the two agree.
#include <torch/torch.h>

namespace elab {

// q: (B, H, T, D); k, v: (B, K, S, D) with H a multiple of K (grouped-query attention:
//    query head h reads key head h / (H / K)).
// allowed: bool, broadcastable to (B, H, T, S), true where a query may see a key;
//          the same for every head when K < H; undefined means "causal" when causal is set and no mask otherwise.
// Returns (B, H, T, D).
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& allowed, bool causal, bool reference = false);

torch::Tensor attention_reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  const torch::Tensor& allowed, bool causal);

}  // namespace elab
