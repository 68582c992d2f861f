#include "model/attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace elab {

// Grouped-query attention without copying keys: query head h reads key head h / G
// (G = H / K, the repeat_interleave convention of Llama), so the G query heads of a key
// head are stacked along the query axis and meet their keys in one product. Copying the
// keys up to H heads instead writes 2 x H x S x D floats a layer a step, which with a
// 700-token few-shot prompt cost more than the matrix products (issue 17's evaluation
// benchmark: 68% of the time was in attention, most of it memmove).
namespace {

struct Grouped {
  torch::Tensor q;        // (B, K, G*T, D)
  torch::Tensor allowed;  // broadcastable to (B, K, G, T, S), or undefined
  int64_t B, H, T, D, G;
};

Grouped group_queries(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& allowed) {
  Grouped g{{}, {}, q.size(0), q.size(1), q.size(2), q.size(3), q.size(1) / k.size(1)};
  g.q = q.reshape({g.B, k.size(1), g.G * g.T, g.D});
  if (allowed.defined()) {
    check(allowed.dim() == 4 && allowed.size(1) == 1, "attention: a grouped-query mask must not vary by head");
    g.allowed = allowed.unsqueeze(1);  // (B|1, 1, 1, T|1, S)
  }
  return g;
}

torch::Tensor ungroup(const torch::Tensor& y, const Grouped& g) { return y.reshape({g.B, g.H, g.T, g.D}); }

}  // namespace

torch::Tensor attention_reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  const torch::Tensor& allowed, bool causal) {
  const int64_t T = q.size(2), S = k.size(2);
  const Grouped g = group_queries(q, k, allowed);
  auto scores = torch::matmul(g.q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(g.D)));  // (B, K, G*T, S)
  scores = scores.view({g.B, k.size(1), g.G, T, S});
  if (g.allowed.defined()) {
    scores = scores.masked_fill(g.allowed.logical_not(), -std::numeric_limits<double>::infinity());
  } else if (causal && T > 1) {
    // query t (at absolute position S - T + t) sees keys 0 .. S - T + t
    auto future = torch::ones({T, S}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).triu(S - T + 1);
    scores = scores.masked_fill(future, -std::numeric_limits<double>::infinity());
  }
  auto weights = torch::softmax(scores, -1).view({g.B, k.size(1), g.G * T, S});
  return ungroup(torch::matmul(weights, v), g);
}

// One query per row (decoding with the KV cache) over a short cache: B*H products of
// (1 x D) by (D x S) are too small for a GEMM call each, so broadcast-multiply and sum
// instead (measured at batch 64 on preset l: batched GEMV 5.8K tok/s, this 10.8K). The
// broadcast writes a (B, H, S, D) temporary twice, which past a few hundred keys costs
// more than it saves: long caches take the grouped products of attention_reference.
constexpr int64_t kBroadcastMaxKeys = 256;
static torch::Tensor attention_single_query(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                            const torch::Tensor& allowed) {
  auto scores = (q * k).sum(-1).unsqueeze(2) * (1.0 / std::sqrt(double(q.size(-1))));  // (B, H, 1, S)
  if (allowed.defined()) scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  return (torch::softmax(scores, -1).transpose(-2, -1) * v).sum(2, /*keepdim=*/true);  // (B, H, 1, D)
}

// One query per row over a long cache, float32 on the CPU: for each row and key head,
// each key and value row is read once for the G query heads that share it, and nothing
// is copied or packed. Batched matrix products with G = 3 query rows spent as long packing
// the keys as multiplying them (SmolLM2, 4-shot GSM8K prompts: 40% of an evaluation).
struct DecodeAttention {
  const float *q, *k, *v;  // q: (B, H, D) contiguous; k, v: rows of D contiguous floats
  const bool* allowed;     // (B | 1, S) or null; row stride mask_stride
  float* out;              // (B, H, D)
  int64_t B, H, K, S, D, k_batch, k_head, k_row, v_batch, v_head, v_row, mask_stride;
};

static inline __attribute__((always_inline)) void decode_attention_rows(const DecodeAttention& a, int64_t begin,
                                                                         int64_t end) {
  const int64_t G = a.H / a.K, D = a.D;
  const float scale = float(1.0 / std::sqrt(double(D)));
  std::vector<float> w(size_t(G * a.S));
  for (int64_t idx = begin; idx < end; ++idx) {
    const int64_t b = idx / a.K, kh = idx % a.K;
    const float* keys = a.k + b * a.k_batch + kh * a.k_head;
    const float* values = a.v + b * a.v_batch + kh * a.v_head;
    const float* q = a.q + (b * a.H + kh * G) * D;  // the G query heads of key head kh
    const bool* allowed = a.allowed ? a.allowed + b * a.mask_stride : nullptr;
    for (int64_t s = 0; s < a.S; ++s) {
      const float* key = keys + s * a.k_row;
      for (int64_t g = 0; g < G; ++g) {
        float lanes[16] = {};
        const float* qg = q + g * D;
        int64_t d = 0;
        for (; d + 16 <= D; d += 16)
          for (int j = 0; j < 16; ++j) lanes[j] += qg[d + j] * key[d + j];
        float dot = 0;
        for (; d < D; ++d) dot += qg[d] * key[d];
        for (float l : lanes) dot += l;
        w[size_t(g * a.S + s)] = allowed && !allowed[s] ? -INFINITY : dot * scale;
      }
    }
    for (int64_t g = 0; g < G; ++g) {
      float* wg = w.data() + g * a.S;
      float top = -INFINITY, total = 0;
      for (int64_t s = 0; s < a.S; ++s) top = std::max(top, wg[s]);
      for (int64_t s = 0; s < a.S; ++s) total += wg[s] = std::exp(wg[s] - top);
      for (int64_t s = 0; s < a.S; ++s) wg[s] /= total;
    }
    float* out = a.out + (b * a.H + kh * G) * D;
    std::fill(out, out + G * D, 0.0f);
    for (int64_t s = 0; s < a.S; ++s) {
      const float* value = values + s * a.v_row;
      for (int64_t g = 0; g < G; ++g) {
        const float p = w[size_t(g * a.S + s)];
        if (p == 0) continue;
        float* o = out + g * D;
        for (int64_t d = 0; d < D; ++d) o[d] += p * value[d];
      }
    }
  }
}

__attribute__((target("avx512f"))) static void decode_attention_avx512(const DecodeAttention& a, int64_t begin,
                                                                       int64_t end) {
  decode_attention_rows(a, begin, end);
}
static void decode_attention_plain(const DecodeAttention& a, int64_t begin, int64_t end) {
  decode_attention_rows(a, begin, end);
}

static bool decode_attention_applies(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& allowed) {
  auto f32_cpu = [](const torch::Tensor& t) { return t.is_cpu() && t.scalar_type() == torch::kFloat && t.stride(-1) == 1; };
  return q.size(2) == 1 && !q.requires_grad() && f32_cpu(q) && f32_cpu(k) && f32_cpu(v) &&
         (!allowed.defined() ||
          (allowed.dim() == 4 && allowed.size(1) == 1 && allowed.size(2) == 1 && allowed.size(3) == k.size(2)));
}

static torch::Tensor decode_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                      const torch::Tensor& allowed) {
  const int64_t B = q.size(0), H = q.size(1), D = q.size(3), K = k.size(1), S = k.size(2);
  auto qc = q.contiguous();
  auto out = torch::empty({B, H, 1, D}, q.options());
  torch::Tensor mask;
  if (allowed.defined()) mask = allowed.to(torch::kBool).reshape({allowed.size(0), S}).contiguous();
  DecodeAttention a{qc.data_ptr<float>(), k.data_ptr<float>(), v.data_ptr<float>(),
                    mask.defined() ? mask.data_ptr<bool>() : nullptr, out.data_ptr<float>(),
                    B, H, K, S, D, k.stride(0), k.stride(1), k.stride(2), v.stride(0), v.stride(1), v.stride(2),
                    mask.defined() && mask.size(0) > 1 ? S : 0};
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  at::parallel_for(0, B * K, 1, [&](int64_t begin, int64_t end) {
    avx512 ? decode_attention_avx512(a, begin, end) : decode_attention_plain(a, begin, end);
  });
  return out;
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& allowed, bool causal, bool reference) {
  check(k.size(1) > 0 && q.size(1) % k.size(1) == 0, "attention: {} query heads for {} key heads", q.size(1), k.size(1));
  if (reference) return attention_reference(q, k, v, allowed, causal);
  if (q.size(2) == 1 && !q.requires_grad()) {
    if (q.size(1) == k.size(1) && k.size(2) <= kBroadcastMaxKeys) return attention_single_query(q, k, v, allowed);
    if (decode_attention_applies(q, k, v, allowed)) return decode_attention(q, k, v, allowed);
    return attention_reference(q, k, v, allowed, causal);
  }
#if TORCH_VERSION_MAJOR >= 2
  // The fused kernel wants as many key heads as query heads.
  auto kk = k, vv = v;
  if (q.size(1) != k.size(1)) {
    kk = k.repeat_interleave(q.size(1) / k.size(1), 1);
    vv = v.repeat_interleave(q.size(1) / k.size(1), 1);
  }
  if (allowed.defined()) return at::scaled_dot_product_attention(q, kk, vv, allowed, 0.0, false);
  // is_causal in 2.x aligns the mask to the top-left, which is right only when T == S.
  if (!causal || q.size(2) == k.size(2)) return at::scaled_dot_product_attention(q, kk, vv, {}, 0.0, causal && q.size(2) > 1);
#endif
  return attention_reference(q, k, v, allowed, causal);
}

}  // namespace elab
