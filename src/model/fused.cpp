#include "model/fused.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace elab {

namespace {
std::atomic<bool> fused_on{true};
}

void set_fused_kernels(bool on) { fused_on = on; }
bool fused_kernels() { return fused_on; }

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

#define ELAB_INLINE static inline __attribute__((always_inline))

// Each kernel's loop (NAME_body) is compiled twice, for AVX2 + FMA and for the baseline,
// and NAME picks one by what the CPU supports: the build runs on any x86-64 while the
// machines here get 8-wide loops. (GCC's target_clones dispatches "arch=" by CPU model,
// not by feature, and picked the baseline on this AMD EPYC.)
#define ELAB_DISPATCH(NAME, PARAMS, ARGS)                                                   \
  __attribute__((target("avx2,fma"))) void NAME##_avx2 PARAMS { NAME##_body ARGS; }        \
  void NAME##_plain PARAMS { NAME##_body ARGS; }                                            \
  void NAME PARAMS {                                                                        \
    static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); \
    avx2 ? NAME##_avx2 ARGS : NAME##_plain ARGS;                                            \
  }

namespace {

bool f32_cpu(const torch::Tensor& t) { return t.defined() && t.is_cpu() && t.scalar_type() == torch::kFloat; }

// Dot product of n floats in 8 independent sums, so the compiler can keep them in one
// vector register (a single running sum is a dependency chain it may not reorder).
ELAB_INLINE float dot(const float* a, const float* b, int64_t n) {
  float lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lanes[j] += a[i + j] * b[i + j];
  float total = 0;
  for (; i < n; ++i) total += a[i] * b[i];
  for (float l : lanes) total += l;
  return total;
}

// e^x for x <= 0 (softmax after subtracting the maximum, and the sigmoid of -|g|):
// 2^n * e^r with n = round(x / ln 2) and Cephes' degree-6 polynomial for e^r, relative
// error ~2e-7. Written without branches or library calls so that the loop vectorises.
ELAB_INLINE void exp_nonpositive(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::max(x[i], -87.0f);
    const float k = (v * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
    float r = v - k * 0.693359375f;
    r = r + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float e = p * r * r + r + 1.0f;
    x[i] = e * std::bit_cast<float>((int32_t(k) + 127) << 23);
  }
}

// ---- RMSNorm ---------------------------------------------------------------------------

ELAB_INLINE void rms_norm_rows_body(const float* x, const float* w, float* y, float* inv_rms, int64_t begin,
                                   int64_t end, int64_t C, float eps, bool one_plus) {
  for (int64_t n = begin; n < end; ++n) {
    const float* xr = x + n * C;
    float* yr = y + n * C;
    const float r = 1.0f / std::sqrt(dot(xr, xr, C) / float(C) + eps);
    inv_rms[n] = r;
    if (one_plus)
      for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * r * (1.0f + w[c]);
    else
      for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * r * w[c];
  }
}
ELAB_DISPATCH(rms_norm_rows,
              (const float* x, const float* w, float* y, float* inv_rms, int64_t begin, int64_t end, int64_t C,
               float eps, bool one_plus),
              (x, w, y, inv_rms, begin, end, C, eps, one_plus))

// dx = r * (g * w') - x * r^3 * mean(g * w' * x); dw += g * x * r (into this chunk's row).
ELAB_INLINE void rms_norm_backward_rows_body(const float* x, const float* w, const float* inv_rms, const float* g,
                                            float* dx, float* dw, float* gw, int64_t begin, int64_t end, int64_t C,
                                            bool one_plus) {
  for (int64_t n = begin; n < end; ++n) {
    const float* xr = x + n * C;
    const float* gr = g + n * C;
    float* dxr = dx + n * C;
    const float r = inv_rms[n];
    if (one_plus)
      for (int64_t c = 0; c < C; ++c) gw[c] = gr[c] * (1.0f + w[c]);
    else
      for (int64_t c = 0; c < C; ++c) gw[c] = gr[c] * w[c];
    const float k = dot(gw, xr, C) / float(C) * r * r * r;
    for (int64_t c = 0; c < C; ++c) dxr[c] = r * gw[c] - k * xr[c];
    for (int64_t c = 0; c < C; ++c) dw[c] += gr[c] * xr[c] * r;
  }
}
ELAB_DISPATCH(rms_norm_backward_rows,
              (const float* x, const float* w, const float* inv_rms, const float* g, float* dx, float* dw, float* gw,
               int64_t begin, int64_t end, int64_t C, bool one_plus),
              (x, w, inv_rms, g, dx, dw, gw, begin, end, C, one_plus))

struct RmsNormFunction : torch::autograd::Function<RmsNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& weight, double eps,
                               bool one_plus) {
    const int64_t C = x_in.size(-1), N = x_in.numel() / C;
    auto x = x_in.contiguous();
    auto w = weight.contiguous();
    auto y = torch::empty_like(x);
    auto inv_rms = torch::empty({N}, x.options());
    at::parallel_for(0, N, 256, [&](int64_t begin, int64_t end) {
      rms_norm_rows(x.data_ptr<float>(), w.data_ptr<float>(), y.data_ptr<float>(), inv_rms.data_ptr<float>(), begin,
                    end, C, float(eps), one_plus);
    });
    ctx->save_for_backward({x, w, inv_rms});
    ctx->saved_data["one_plus"] = one_plus;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1], &inv_rms = saved[2];
    const bool one_plus = ctx->saved_data["one_plus"].toBool();
    auto g = grads[0].contiguous();
    const int64_t C = x.size(-1), N = x.numel() / C;
    auto dx = torch::empty_like(x);
    // The weight's gradient sums over rows: one partial row per chunk, added at the end,
    // so chunks never write the same memory.
    const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), N / 256));
    auto dw_parts = torch::zeros({chunks, C}, x.options());
    at::parallel_for(0, chunks, 1, [&](int64_t chunk_begin, int64_t chunk_end) {
      std::vector<float> gw(static_cast<size_t>(C));
      for (int64_t chunk = chunk_begin; chunk < chunk_end; ++chunk)
        rms_norm_backward_rows(x.data_ptr<float>(), w.data_ptr<float>(), inv_rms.data_ptr<float>(),
                               g.data_ptr<float>(), dx.data_ptr<float>(), dw_parts.data_ptr<float>() + chunk * C,
                               gw.data(), N * chunk / chunks, N * (chunk + 1) / chunks, C, one_plus);
    });
    return {dx.view(grads[0].sizes()), dw_parts.sum(0), torch::Tensor(), torch::Tensor()};
  }
};

// ---- SwiGLU ---------------------------------------------------------------------------

// silu(g) = g * sigmoid(g); sigmoid from e^-|g| so that the exponent is never positive.
ELAB_INLINE void sigmoid_rows(const float* g, float* s, int64_t F) {
  for (int64_t f = 0; f < F; ++f) s[f] = -std::abs(g[f]);
  exp_nonpositive(s, F);
  for (int64_t f = 0; f < F; ++f) {
    const float e = s[f];
    s[f] = g[f] >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
  }
}

ELAB_INLINE void swiglu_rows_body(const float* gu, float* y, int64_t begin, int64_t end, int64_t F) {
  std::vector<float> s(static_cast<size_t>(F));
  for (int64_t n = begin; n < end; ++n) {
    const float* g = gu + n * 2 * F;
    const float* u = g + F;
    sigmoid_rows(g, s.data(), F);
    for (int64_t f = 0; f < F; ++f) y[n * F + f] = g[f] * s[f] * u[f];
  }
}
ELAB_DISPATCH(swiglu_rows,
              (const float* gu, float* y, int64_t begin, int64_t end, int64_t F),
              (gu, y, begin, end, F))

// d/dg silu(g) = s (1 + g (1 - s)).
ELAB_INLINE void swiglu_backward_rows_body(const float* gu, const float* dy, float* dgu, int64_t begin, int64_t end,
                                          int64_t F) {
  std::vector<float> s(static_cast<size_t>(F));
  for (int64_t n = begin; n < end; ++n) {
    const float* g = gu + n * 2 * F;
    const float* u = g + F;
    const float* d = dy + n * F;
    float* dg = dgu + n * 2 * F;
    float* du = dg + F;
    sigmoid_rows(g, s.data(), F);
    for (int64_t f = 0; f < F; ++f) {
      du[f] = d[f] * g[f] * s[f];
      dg[f] = d[f] * u[f] * s[f] * (1.0f + g[f] * (1.0f - s[f]));
    }
  }
}
ELAB_DISPATCH(swiglu_backward_rows,
              (const float* gu, const float* dy, float* dgu, int64_t begin, int64_t end, int64_t F),
              (gu, dy, dgu, begin, end, F))

struct SwigluFunction : torch::autograd::Function<SwigluFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& gu_in) {
    auto gu = gu_in.contiguous();
    const int64_t F = gu.size(-1) / 2, N = gu.numel() / (2 * F);
    auto shape = gu.sizes().vec();
    shape.back() = F;
    auto y = torch::empty(shape, gu.options());
    at::parallel_for(0, N, 64, [&](int64_t begin, int64_t end) {
      swiglu_rows(gu.data_ptr<float>(), y.data_ptr<float>(), begin, end, F);
    });
    ctx->save_for_backward({gu});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto gu = ctx->get_saved_variables()[0];
    auto dy = grads[0].contiguous();
    const int64_t F = gu.size(-1) / 2, N = gu.numel() / (2 * F);
    auto dgu = torch::empty_like(gu);
    at::parallel_for(0, N, 64, [&](int64_t begin, int64_t end) {
      swiglu_backward_rows(gu.data_ptr<float>(), dy.data_ptr<float>(), dgu.data_ptr<float>(), begin, end, F);
    });
    return {dgu};
  }
};

// ---- Short causal attention with RoPE ----------------------------------------------------

// RoPE in the rotate-half convention: y_i = x_i c_i - x_{i+D/2} s_i (first half),
// y_i = x_i c_i + x_{i-D/2} s_i (second half); times `scale`.
ELAB_INLINE void rope(const float* x, const float* c, const float* s, float* y, int64_t D, float scale) {
  const int64_t half = D / 2;
  for (int64_t i = 0; i < half; ++i) y[i] = (x[i] * c[i] - x[i + half] * s[i]) * scale;
  for (int64_t i = half; i < D; ++i) y[i] = (x[i] * c[i] + x[i - half] * s[i]) * scale;
}

// Its transpose (the rotation by minus the angle), for gradients; adds into x.
ELAB_INLINE void rope_transposed_add(const float* y, const float* c, const float* s, float* x, int64_t D, float scale) {
  const int64_t half = D / 2;
  for (int64_t i = 0; i < half; ++i) x[i] += (y[i] * c[i] + y[i + half] * s[i + half]) * scale;
  for (int64_t i = half; i < D; ++i) x[i] += (y[i] * c[i] - y[i - half] * s[i - half]) * scale;
}

// Short vector loops with their length known when compiling (D a multiple of 8: 16, 32,
// 64) are written with 8-float vectors (GCC's vector extension; two SSE halves on the
// baseline), and sums stay in registers: a loop of unknown length paid its set-up at every
// (query, key) pair, and a sum kept in memory waited on its own store at every step;
// together they were most of the kernel's time at D = 16.
typedef float Float8 __attribute__((vector_size(32)));

ELAB_INLINE Float8 load8(const float* p) {
  Float8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
ELAB_INLINE void store8(float* p, Float8 v) { std::memcpy(p, &v, sizeof v); }

// y[0, D) += a x[0, D).
template <int64_t kD>
ELAB_INLINE void axpy(float* y, float a, const float* x, int64_t D) {
  if constexpr (kD > 0 && kD % 8 == 0) {
    for (int64_t i = 0; i < kD; i += 8) store8(y + i, load8(y + i) + a * load8(x + i));
  } else {
    for (int64_t i = 0; i < D; ++i) y[i] += a * x[i];
  }
}

// out[0, D) = sum over s < n of w[s] rows[s * stride, + D).
template <int64_t kD>
ELAB_INLINE void weighted_rows(const float* w, int64_t n, const float* rows, int64_t stride, float* out, int64_t D) {
  if constexpr (kD > 0 && kD % 8 == 0) {
    Float8 acc[kD / 8] = {};
    for (int64_t s = 0; s < n; ++s)
      for (int64_t i = 0; i < kD / 8; ++i) acc[i] += w[s] * load8(rows + s * stride + 8 * i);
    for (int64_t i = 0; i < kD / 8; ++i) store8(out + 8 * i, acc[i]);
  } else {
    std::fill(out, out + D, 0.0f);
    for (int64_t s = 0; s < n; ++s)
      for (int64_t d = 0; d < D; ++d) out[d] += w[s] * rows[s * stride + d];
  }
}

// out[s] = sum over d < D of x[d] m[d * ld + s] for s < n, in blocks of 8 (m's rows and
// out are padded to a multiple of 8).
template <int64_t kD>
ELAB_INLINE void times_columns(const float* x, const float* m, int64_t ld, int64_t n, float* out, int64_t D) {
  for (int64_t s = 0; s < n; s += 8) {
    Float8 acc = {};
    for (int64_t d = 0; d < (kD > 0 ? kD : D); ++d) acc += x[d] * load8(m + d * ld + s);
    store8(out + s, acc);
  }
}

constexpr int64_t round_up8(int64_t n) { return (n + 7) / 8 * 8; }

struct AttentionShape {
  int64_t B, T, H, K, D;
  int64_t J() const { return H + 2 * K; }  // heads of one position in qkv
  int64_t G() const { return H / K; }
};

// One task is one (row b, key head kh) with its G query heads: it alone reads and writes
// that key head's slots, so tasks run in parallel without sharing memory.
template <int64_t kD>
ELAB_INLINE void attention_forward_tasks_d(const AttentionShape& a, const float* qkv, const float* cos,
                                           const float* sin, float* out, float* probs, int64_t begin, int64_t end) {
  const int64_t T = a.T, D = kD > 0 ? kD : a.D, J = a.J(), G = a.G(), Tp = round_up8(T);
  const float scale = 1.0f / std::sqrt(float(D));
  const auto floats = [](int64_t n) { return std::vector<float>(static_cast<size_t>(n), 0.0f); };
  // Keys transposed (D, Tp): a query's scores are D passes over contiguous keys.
  auto keys_t = floats(D * Tp), key = floats(D), query = floats(D), scores = floats(Tp);
  for (int64_t task = begin; task < end; ++task) {
    const int64_t b = task / a.K, kh = task % a.K;
    const float* row = qkv + b * T * J * D;
    const float* values = row + (a.H + a.K + kh) * D;  // position s at values + s * J * D
    for (int64_t s = 0; s < T; ++s) {
      rope(row + (s * J + a.H + kh) * D, cos + s * D, sin + s * D, key.data(), D, 1.0f);
      for (int64_t d = 0; d < D; ++d) keys_t[d * Tp + s] = key[d];
    }
    for (int64_t g = 0; g < G; ++g) {
      const int64_t h = kh * G + g;
      for (int64_t t = 0; t < T; ++t) {
        rope(row + (t * J + h) * D, cos + t * D, sin + t * D, query.data(), D, scale);
        times_columns<kD>(query.data(), keys_t.data(), Tp, t + 1, scores.data(), D);
        float* p = probs + ((b * a.H + h) * T + t) * T;
        float top = scores[0];
        for (int64_t s = 1; s <= t; ++s) top = std::max(top, scores[s]);
        for (int64_t s = 0; s <= t; ++s) p[s] = scores[s] - top;
        exp_nonpositive(p, t + 1);
        float total = 0;
        for (int64_t s = 0; s <= t; ++s) total += p[s];
        const float inv = 1.0f / total;
        for (int64_t s = 0; s <= t; ++s) p[s] *= inv;
        for (int64_t s = t + 1; s < T; ++s) p[s] = 0;
        weighted_rows<kD>(p, t + 1, values, J * D, out + (b * T + t) * a.H * D + h * D, D);
      }
    }
  }
}

// With P the probabilities and dO the output's gradient, for each query t:
//   dV_s += P_ts dO_t;  dP_ts = dO_t . V_s;  dS_ts = P_ts (dP_ts - sum_s' P_ts' dP_ts');
//   dq~_t = sum_s dS_ts k~_s;  dk~_s += dS_ts q~_t   (~: after RoPE and scaling),
// then the RoPE transpose takes dq~ and dk~ back to the projection's q and k.
template <int64_t kD>
ELAB_INLINE void attention_backward_tasks_d(const AttentionShape& a, const float* qkv, const float* cos,
                                            const float* sin, const float* probs, const float* dout, float* dqkv,
                                            int64_t begin, int64_t end) {
  const int64_t T = a.T, D = kD > 0 ? kD : a.D, J = a.J(), G = a.G(), Tp = round_up8(T);
  const float scale = 1.0f / std::sqrt(float(D));
  const auto floats = [](int64_t n) { return std::vector<float>(static_cast<size_t>(n), 0.0f); };
  auto keys = floats(T * D), dkeys = floats(T * D), values_t = floats(D * Tp), query = floats(D), dquery = floats(D),
       ds = floats(Tp);
  for (int64_t task = begin; task < end; ++task) {
    const int64_t b = task / a.K, kh = task % a.K;
    const float* row = qkv + b * T * J * D;
    float* drow = dqkv + b * T * J * D;
    for (int64_t s = 0; s < T; ++s) {
      rope(row + (s * J + a.H + kh) * D, cos + s * D, sin + s * D, &keys[s * D], D, 1.0f);
      const float* v = row + (s * J + a.H + a.K + kh) * D;
      for (int64_t d = 0; d < D; ++d) values_t[d * Tp + s] = v[d];  // (D, Tp), as the forward's keys
    }
    std::fill(dkeys.begin(), dkeys.end(), 0.0f);
    for (int64_t g = 0; g < G; ++g) {
      const int64_t h = kh * G + g;
      for (int64_t t = 0; t < T; ++t) {
        const float* p = probs + ((b * a.H + h) * T + t) * T;
        const float* d_o = dout + (b * T + t) * a.H * D + h * D;
        rope(row + (t * J + h) * D, cos + t * D, sin + t * D, query.data(), D, scale);
        times_columns<kD>(d_o, values_t.data(), Tp, t + 1, ds.data(), D);  // dP_t.
        float weighted = 0;
        for (int64_t s = 0; s <= t; ++s) {
          axpy<kD>(drow + (s * J + a.H + a.K + kh) * D, p[s], d_o, D);
          weighted += p[s] * ds[s];
        }
        for (int64_t s = 0; s <= t; ++s) ds[s] = p[s] * (ds[s] - weighted);  // dS_t.
        weighted_rows<kD>(ds.data(), t + 1, keys.data(), D, dquery.data(), D);
        for (int64_t s = 0; s <= t; ++s) axpy<kD>(&dkeys[s * D], ds[s], query.data(), D);
        rope_transposed_add(dquery.data(), cos + t * D, sin + t * D, drow + (t * J + h) * D, D, scale);
      }
    }
    for (int64_t s = 0; s < T; ++s)
      rope_transposed_add(&dkeys[s * D], cos + s * D, sin + s * D, drow + (s * J + a.H + kh) * D, D, 1.0f);
  }
}

// The head dimension as a constant where it is a common one (see Float8 above).
ELAB_INLINE void attention_forward_tasks_body(const AttentionShape& a, const float* qkv, const float* cos,
                                              const float* sin, float* out, float* probs, int64_t begin, int64_t end) {
  switch (a.D) {
    case 16: return attention_forward_tasks_d<16>(a, qkv, cos, sin, out, probs, begin, end);
    case 32: return attention_forward_tasks_d<32>(a, qkv, cos, sin, out, probs, begin, end);
    case 64: return attention_forward_tasks_d<64>(a, qkv, cos, sin, out, probs, begin, end);
    default: return attention_forward_tasks_d<0>(a, qkv, cos, sin, out, probs, begin, end);
  }
}
ELAB_DISPATCH(attention_forward_tasks,
              (const AttentionShape& a, const float* qkv, const float* cos, const float* sin, float* out,
               float* probs, int64_t begin, int64_t end),
              (a, qkv, cos, sin, out, probs, begin, end))

ELAB_INLINE void attention_backward_tasks_body(const AttentionShape& a, const float* qkv, const float* cos,
                                               const float* sin, const float* probs, const float* dout, float* dqkv,
                                               int64_t begin, int64_t end) {
  switch (a.D) {
    case 16: return attention_backward_tasks_d<16>(a, qkv, cos, sin, probs, dout, dqkv, begin, end);
    case 32: return attention_backward_tasks_d<32>(a, qkv, cos, sin, probs, dout, dqkv, begin, end);
    case 64: return attention_backward_tasks_d<64>(a, qkv, cos, sin, probs, dout, dqkv, begin, end);
    default: return attention_backward_tasks_d<0>(a, qkv, cos, sin, probs, dout, dqkv, begin, end);
  }
}
ELAB_DISPATCH(attention_backward_tasks,
              (const AttentionShape& a, const float* qkv, const float* cos, const float* sin, const float* probs,
               const float* dout, float* dqkv, int64_t begin, int64_t end),
              (a, qkv, cos, sin, probs, dout, dqkv, begin, end))

struct ShortAttentionFunction : torch::autograd::Function<ShortAttentionFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& qkv_in, const torch::Tensor& cos_in,
                               const torch::Tensor& sin_in, int64_t H, int64_t K) {
    auto qkv = qkv_in.contiguous();
    auto cos = cos_in.contiguous(), sin = sin_in.contiguous();
    const AttentionShape a{qkv.size(0), qkv.size(1), H, K, qkv.size(3)};
    auto out = torch::empty({a.B, a.T, a.H * a.D}, qkv.options());
    auto probs = torch::empty({a.B, a.H, a.T, a.T}, qkv.options());
    at::parallel_for(0, a.B * a.K, 16, [&](int64_t begin, int64_t end) {
      attention_forward_tasks(a, qkv.data_ptr<float>(), cos.data_ptr<float>(), sin.data_ptr<float>(),
                              out.data_ptr<float>(), probs.data_ptr<float>(), begin, end);
    });
    ctx->save_for_backward({qkv, cos, sin, probs});
    ctx->saved_data["H"] = H;
    ctx->saved_data["K"] = K;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &qkv = saved[0], &cos = saved[1], &sin = saved[2], &probs = saved[3];
    const AttentionShape a{qkv.size(0), qkv.size(1), ctx->saved_data["H"].toInt(), ctx->saved_data["K"].toInt(),
                           qkv.size(3)};
    auto dout = grads[0].contiguous();
    auto dqkv = torch::zeros_like(qkv);
    at::parallel_for(0, a.B * a.K, 16, [&](int64_t begin, int64_t end) {
      attention_backward_tasks(a, qkv.data_ptr<float>(), cos.data_ptr<float>(), sin.data_ptr<float>(),
                               probs.data_ptr<float>(), dout.data_ptr<float>(), dqkv.data_ptr<float>(), begin, end);
    });
    return {dqkv, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool fused_rms_norm_applies(const torch::Tensor& x, const torch::Tensor& weight) {
  return fused_kernels() && f32_cpu(x) && f32_cpu(weight) && x.dim() >= 1 && x.size(-1) == weight.numel() &&
         x.numel() > 0;
}

torch::Tensor fused_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps, bool one_plus) {
  return RmsNormFunction::apply(x, weight, eps, one_plus);
}

bool fused_swiglu_applies(const torch::Tensor& gu) {
  return fused_kernels() && f32_cpu(gu) && gu.dim() >= 1 && gu.size(-1) % 2 == 0 && gu.numel() > 0;
}

torch::Tensor fused_swiglu(const torch::Tensor& gu) { return SwigluFunction::apply(gu); }

bool short_attention_applies(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& cos,
                             int64_t head_dim) {
  // Under bf16 autocast the projection's output is bf16: the libtorch path takes it.
  if (!fused_kernels() || at::autocast::is_cpu_enabled() || !f32_cpu(x) || !f32_cpu(weight) || !f32_cpu(cos) ||
      x.dim() != 3)
    return false;
  const int64_t T = x.size(1);
  return T <= kShortAttentionMaxLen && head_dim % 2 == 0 && cos.numel() == T * head_dim && cos.size(-1) == head_dim;
}

torch::Tensor short_causal_attention(const torch::Tensor& qkv, const torch::Tensor& cos, const torch::Tensor& sin,
                                     int64_t n_heads, int64_t n_kv_heads) {
  check(n_kv_heads > 0 && n_heads % n_kv_heads == 0 && qkv.dim() == 4 && qkv.size(2) == n_heads + 2 * n_kv_heads,
        "short_causal_attention: {} heads in qkv for {} query and {} key heads", qkv.dim() == 4 ? qkv.size(2) : 0,
        n_heads, n_kv_heads);
  return ShortAttentionFunction::apply(qkv, cos.reshape({qkv.size(1), qkv.size(3)}),
                                       sin.reshape({qkv.size(1), qkv.size(3)}), n_heads, n_kv_heads);
}

}  // namespace elab
