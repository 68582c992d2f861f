#include "model/attention.h"

#include <cmath>

namespace elab {

torch::Tensor attention_reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  const torch::Tensor& allowed, bool causal) {
  const int64_t T = q.size(2), S = k.size(2);
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(q.size(-1))));  // (B, H, T, S)
  if (allowed.defined()) {
    scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  } else if (causal && T > 1) {
    // query t (at absolute position S - T + t) sees keys 0 .. S - T + t
    auto future = torch::ones({T, S}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).triu(S - T + 1);
    scores = scores.masked_fill(future, -std::numeric_limits<double>::infinity());
  }
  return torch::matmul(torch::softmax(scores, -1), v);
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& allowed, bool causal, bool reference) {
#if TORCH_VERSION_MAJOR >= 2
  if (!reference) {
    if (allowed.defined()) return at::scaled_dot_product_attention(q, k, v, allowed, 0.0, false);
    // is_causal in 2.x aligns the mask to the top-left, which is right only when T == S.
    if (!causal || q.size(2) == k.size(2)) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, causal && q.size(2) > 1);
  }
#endif
  return attention_reference(q, k, v, allowed, causal);
}

}  // namespace elab
