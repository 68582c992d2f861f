#include "model/transformer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>

#include "core/error.h"
#include "model/attention.h"
#include "model/fused.h"
#include "model/q8.h"

namespace elab {

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias) {
  weight = register_parameter("weight", torch::empty({out, in}));
  if (with_bias) bias = register_parameter("bias", torch::zeros({out}));
}

void LinearImpl::quantize_q8() {
  torch::NoGradGuard no_grad;
  const int64_t out = weight.size(0), in = weight.size(1);
  auto blocks = weight.detach().to(torch::kFloat).contiguous().view({out, in / kQ8Block, kQ8Block});
  auto scale = blocks.abs().amax(-1) / 127.0;  // (out, in / 32)
  auto safe = torch::where(scale > 0, scale, torch::ones_like(scale));
  q8 = (blocks / safe.unsqueeze(-1)).round().clamp(-127, 127).to(torch::kChar).view({out, in}).contiguous();
  q8_scale = scale.contiguous();
  weight.set_data(torch::empty({0}, weight.options()));
}

static torch::Tensor q8_forward(const LinearImpl& l, const torch::Tensor& x) {
  const int64_t out = l.q8.size(0), in = l.q8.size(1);
  auto rows = x.reshape({-1, in}).contiguous();
  const int64_t n = rows.size(0);
  torch::Tensor y;
  if (n <= 8 * kQ8MaxVectors && x.scalar_type() == torch::kFloat && x.is_cpu()) {  // decoding: the 8-bit blocks
    y = torch::empty({n, out}, rows.options());
    const int8_t* q = l.q8.data_ptr<int8_t>();
    const float* s = l.q8_scale.data_ptr<float>();
    at::parallel_for(0, out, 64, [&](int64_t begin, int64_t end) {
      for (int64_t r = 0; r < n; r += kQ8MaxVectors)
        q8_matvec(q, s, rows.data_ptr<float>() + r * in, std::min(kQ8MaxVectors, n - r), y.data_ptr<float>() + r * out,
                  in, out, begin, end);
    });
  } else {  // a prompt: the product is worth a dequantised copy
    auto w = (l.q8.to(torch::kFloat).view({out, in / kQ8Block, kQ8Block}) * l.q8_scale.unsqueeze(-1)).view({out, in});
    y = torch::nn::functional::linear(rows.to(torch::kFloat), w).to(x.scalar_type());
  }
  if (l.bias.defined()) y = y + l.bias;
  auto shape = x.sizes().vec();
  shape.back() = out;
  return y.view(shape);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  if (q8.defined()) return q8_forward(*this, x);
  // One row (batch-1 decoding): a matrix-vector product. libtorch 1.13's float32 linear
  // on a single row measured 237-1,500 us against 44 us for mv on SmolLM2's (576 x 1536)
  // projections (docs/PERFORMANCE.md).
  if (x.numel() == x.size(-1) && weight.scalar_type() == x.scalar_type() && x.is_cpu() && !lora_A &&
      !(torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad()))) {
    auto y = torch::mv(weight, x.reshape({-1}));
    if (bias.defined()) y = y + bias;
    auto shape = x.sizes().vec();
    shape.back() = weight.size(0);
    return y.view(shape);
  }
  // bf16 weights (use_bf16_weights): the product in bf16 with float32 accumulation,
  // activations float32 on either side (biases stay float32).
  auto y = weight.scalar_type() == x.scalar_type()
               ? torch::nn::functional::linear(x, weight, bias)
               : torch::nn::functional::linear(x.to(weight.scalar_type()), weight).to(x.scalar_type());
  if (bias.defined() && weight.scalar_type() != x.scalar_type()) y = y + bias;
  if (!lora_A) return y;
  auto h = lora_dropout > 0 && is_training() ? torch::dropout(x, lora_dropout, true) : x;
  return y + lora_B->forward(lora_A->forward(h)) * lora_scale;
}

PrefixEncoderImpl::PrefixEncoderImpl(int64_t length_, int64_t d_model, int64_t hidden, int64_t n_layers_,
                                     int64_t n_kv_heads_, int64_t head_dim_)
    : length(length_), n_layers(n_layers_), n_kv_heads(n_kv_heads_), head_dim(head_dim_) {
  embedding = register_parameter("embedding", torch::empty({length, d_model}));
  up = register_module("up", torch::nn::Linear(d_model, hidden));
  down = register_module("down", torch::nn::Linear(hidden, n_layers * 2 * n_kv_heads * head_dim));
}

torch::Tensor PrefixEncoderImpl::forward() {
  auto kv = down(torch::tanh(up(embedding)));  // (L, layers*2*K*D)
  return kv.view({length, n_layers, 2, n_kv_heads, head_dim}).permute({1, 2, 3, 0, 4});  // (layers, 2, K, L, D)
}

NormImpl::NormImpl(int64_t dim, double eps_, const std::string& kind_) : eps(eps_), kind(kind_) {
  weight = register_parameter("weight", kind == "rms1" ? torch::zeros({dim}) : torch::ones({dim}));
  if (kind == "layer") bias = register_parameter("bias", torch::zeros({dim}));
}

torch::Tensor NormImpl::forward(const torch::Tensor& x) {
  if (kind == "layer") return torch::layer_norm(x, {x.size(-1)}, weight, bias, eps);
  // Training: one pass each way instead of five element-wise operations (model/fused.h).
  if (torch::GradMode::is_enabled() && fused_rms_norm_applies(x, weight))
    return fused_rms_norm(x, weight, eps, kind == "rms1");
  auto normed = x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return kind == "rms1" ? normed * (1 + weight) : normed * weight;
}

AttentionImpl::AttentionImpl(const ModelConfig& c)
    : n_heads(c.n_heads), n_kv_heads(c.n_kv_heads), head_dim(c.head_dim()), rotary_dim(c.rotary_dim()) {
  q_proj = register_module("q_proj", Linear(c.d_model, n_heads * head_dim, c.qkv_bias));
  k_proj = register_module("k_proj", Linear(c.d_model, n_kv_heads * head_dim, c.qkv_bias));
  v_proj = register_module("v_proj", Linear(c.d_model, n_kv_heads * head_dim, c.qkv_bias));
  o_proj = register_module("o_proj", Linear(n_heads * head_dim, c.d_model, c.o_bias));
  if (c.qk_norm) {
    q_norm = register_module("q_norm", Norm(head_dim, c.norm_eps, c.norm));
    k_norm = register_module("k_norm", Norm(head_dim, c.norm_eps, c.norm));
  }
  if (c.query_scale > 0) query_factor = c.query_scale * std::sqrt(double(head_dim));
}

// Rotates pairs (i, i + R/2) of the first R = rotary dims (all of them but in GPT-NeoX):
// the Hugging Face Llama convention.
static torch::Tensor rotate_half(const torch::Tensor& x) {
  auto halves = x.chunk(2, -1);
  return torch::cat({-halves[1], halves[0]}, -1);
}

static torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t R = cos.size(-1), D = x.size(-1);
  if (R == D) return x * cos + rotate_half(x) * sin;
  auto rotated = x.narrow(-1, 0, R);
  return torch::cat({rotated * cos + rotate_half(rotated) * sin, x.narrow(-1, R, D - R)}, -1);
}

// Fused when training: concatenating the weights costs a copy per call, which pays for
// itself against three backward passes but not when decoding a token at a time (measured
// on preset l: training +12%, decoding at batch 1 -9%).
bool AttentionImpl::fused_projection() const {
  return torch::GradMode::is_enabled() && !q_proj->lora_A && !k_proj->lora_A && !v_proj->lora_A && !q_norm &&
         !q_proj->bias.defined() && rotary_dim == head_dim && query_factor == 1;
}

// One matrix product for the query, key and value heads: (B, T, H + 2K, D).
torch::Tensor AttentionImpl::project_fused(const torch::Tensor& x) {
  auto w = torch::cat({q_proj->weight, k_proj->weight, v_proj->weight}, 0);  // ((H+2K)D, C)
  return torch::nn::functional::linear(x, w).view({x.size(0), x.size(1), n_heads + 2 * n_kv_heads, head_dim});
}

// Queries, keys and values of x with RoPE applied: (B, H, T, D), (B, K, T, D), (B, K, T, D).
std::array<torch::Tensor, 3> AttentionImpl::project(const torch::Tensor& x, const torch::Tensor& cos,
                                                    const torch::Tensor& sin) {
  const int64_t B = x.size(0), T = x.size(1), H = n_heads, K = n_kv_heads, D = head_dim;
  if (!fused_projection()) {
    auto q = q_proj(x).view({B, T, H, D});
    auto k = k_proj(x).view({B, T, K, D});
    if (q_norm) {
      q = q_norm(q);
      k = k_norm(k);
    }
    q = apply_rope(q.transpose(1, 2), cos, sin);
    if (query_factor != 1) q = q * query_factor;
    auto v = v_proj(x).view({B, T, K, D}).transpose(1, 2);
    return {q, apply_rope(k.transpose(1, 2), cos, sin), v};
  }
  // One matrix product for q, k and v, and one RoPE pass over the q and k heads together:
  // fewer, larger operations (the small presets are bound by per-operation overhead).
  auto qkv = project_fused(x);                                                         // (B, T, H+2K, D)
  auto qk = qkv.narrow(2, 0, H + K).transpose(1, 2);                                  // (B, H+K, T, D)
  qk = qk * cos + rotate_half(qk) * sin;
  return {qk.narrow(1, 0, H), qk.narrow(1, H, K), qkv.narrow(2, H + K, K).transpose(1, 2)};
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     const torch::Tensor& allowed, torch::Tensor* cache_k, torch::Tensor* cache_v,
                                     int64_t start) {
  const int64_t B = x.size(0), T = x.size(1);
  // Training on short rows without a cache, prefix or mask: projection to output in one
  // kernel, RoPE included (model/fused.h).
  if (fused_projection() && !reference_attention && !cache_k && !allowed.defined() &&
      !(prefix_k.defined() && prefix_k.size(1) > 0) && short_attention_applies(x, q_proj->weight, cos, head_dim))
    return o_proj(short_causal_attention(project_fused(x), cos, sin, n_heads, n_kv_heads));
  auto [q, k, v] = project(x, cos, sin);
  if (cache_k) {
    cache_k->narrow(2, start, T).copy_(k);
    cache_v->narrow(2, start, T).copy_(v);
    k = cache_k->narrow(2, 0, start + T);  // (B, K, S, D)
    v = cache_v->narrow(2, 0, start + T);
  }
  torch::Tensor mask = allowed;
  if (prefix_k.defined() && prefix_k.size(1) > 0) {
    // Every query sees the L prefix positions; the sequence part keeps its own mask.
    const int64_t L = prefix_k.size(1), S = k.size(2);
    if (!mask.defined()) {
      auto key = torch::arange(S, torch::TensorOptions().dtype(torch::kLong).device(x.device())).view({1, S});
      auto query = torch::arange(S - T, S, torch::TensorOptions().dtype(torch::kLong).device(x.device())).view({T, 1});
      mask = (key <= query).view({1, 1, T, S});
    }
    auto sees_prefix = torch::ones({mask.size(0), 1, T, L}, mask.options());
    mask = torch::cat({sees_prefix, mask.expand({mask.size(0), 1, T, S})}, -1);  // (B|1, 1, T, L+S)
    k = torch::cat({prefix_k.unsqueeze(0).expand({B, -1, -1, -1}), k}, 2);       // (B, K, L+S, D)
    v = torch::cat({prefix_v.unsqueeze(0).expand({B, -1, -1, -1}), v}, 2);
  }
  // (B, K, S, D): attention() reads key head h / (H / K) for query head h, without a copy
  auto y = reference_attention ? attention_reference(q, k, v, mask, true) : attention(q, k, v, mask, true);
  return o_proj(y.transpose(1, 2).reshape({B, T, n_heads * head_dim}));  // (B, T, C)
}

torch::Tensor AttentionImpl::forward_with_prefix(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                                 torch::Tensor& cache_k, torch::Tensor& cache_v, int64_t start,
                                                 const torch::Tensor& prefix_k_t, const torch::Tensor& prefix_v,
                                                 const torch::Tensor& prefix_allowed, int64_t group) {
  // Query heads are grouped by their key head (see attention.cpp), so neither the prompt's
  // keys nor the generated ones are copied up to H heads.
  const int64_t B = x.size(0), T = x.size(1), H = n_heads, K = n_kv_heads, Gq = H / K, D = head_dim, Bp = B / group,
                P = prefix_v.size(2);
  const double scale = 1.0 / std::sqrt(double(D));
  auto [q, k, v] = project(x, cos, sin);
  cache_k.narrow(2, start, T).copy_(k);
  cache_v.narrow(2, start, T).copy_(v);
  auto gk = cache_k.narrow(2, 0, start + T), gv = cache_v.narrow(2, 0, start + T);  // (B, K, S, D)
  // Prompt part: the `group` rows of a prompt share one GEMM against its keys.
  auto by_prompt = [&](const torch::Tensor& t, int64_t last) {  // (B, H, T, last) -> (Bp, K, group*Gq*T, last)
    return t.reshape({Bp, group, K, Gq, T, last}).permute({0, 2, 1, 3, 4, 5}).reshape({Bp, K, group * Gq * T, last});
  };
  auto by_row = [&](const torch::Tensor& t, int64_t last) {  // the inverse
    return t.reshape({Bp, K, group, Gq, T, last}).permute({0, 2, 1, 3, 4, 5}).reshape({B, H, T, last});
  };
  auto sp = torch::matmul(by_prompt(q, D), prefix_k_t) * scale;  // (Bp, K, group*Gq*T, P)
  sp = by_row(sp.masked_fill(prefix_allowed.logical_not(), -std::numeric_limits<double>::infinity()), P);
  // Generated part: causal among the new positions.
  auto sg = torch::matmul(q.reshape({B, K, Gq * T, D}), gk.transpose(-2, -1)).view({B, H, T, start + T}) * scale;
  if (T > 1) {
    auto future = torch::ones({T, start + T}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).triu(start + 1);
    sg = sg.masked_fill(future, -std::numeric_limits<double>::infinity());
  }
  auto w = torch::softmax(torch::cat({sp, sg}, -1), -1);
  auto wp = w.narrow(-1, 0, P), wg = w.narrow(-1, P, start + T);
  auto yp = by_row(torch::matmul(by_prompt(wp, P), prefix_v), D);                          // (B, H, T, D)
  auto yg = torch::matmul(wg.reshape({B, K, Gq * T, start + T}), gv).view({B, H, T, D});  // (B, H, T, D)
  return o_proj((yp + yg).transpose(1, 2).reshape({B, T, H * D}));
}

MLPImpl::MLPImpl(const ModelConfig& c) : activation(c.activation) {
  if (c.gated_mlp) gate_proj = register_module("gate_proj", Linear(c.d_model, c.ffn_hidden, c.mlp_bias));
  up_proj = register_module("up_proj", Linear(c.d_model, c.ffn_hidden, c.mlp_bias));
  down_proj = register_module("down_proj", Linear(c.ffn_hidden, c.d_model, c.mlp_bias));
}

static torch::Tensor activate(const torch::Tensor& x, const std::string& activation) {
  if (activation == "silu") return torch::silu(x);
  return torch::gelu(x, activation == "gelu_tanh" ? "tanh" : "none");
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x) {
  if (!gate_proj) return down_proj(activate(up_proj(x), activation));
  if (!torch::GradMode::is_enabled() || gate_proj->lora_A || up_proj->lora_A || gate_proj->bias.defined())
    return down_proj(activate(gate_proj(x), activation) * up_proj(x));
  // gate and up as one matrix product (when training; see AttentionImpl::project)
  auto gu = torch::nn::functional::linear(x, torch::cat({gate_proj->weight, up_proj->weight}, 0));  // (B, T, 2F)
  if (activation == "silu" && fused_swiglu_applies(gu)) return down_proj(fused_swiglu(gu));  // model/fused.h
  auto halves = gu.chunk(2, -1);
  return down_proj(activate(halves[0], activation) * halves[1]);
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c, int index)
    : parallel(c.parallel_block), sandwich(c.sandwich_norm), sliding(c.layer_slides(index)) {
  // Registration order is parameter order (the safetensors list, the optimiser's slots
  // and the gradient-norm sum): kept as it was before attention-only blocks existed.
  self_attn = register_module("self_attn", Attention(c));
  if (c.ffn_hidden > 0) mlp = register_module("mlp", MLP(c));
  input_layernorm = register_module("input_layernorm", Norm(c.d_model, c.norm_eps, c.norm));
  // attention-only blocks: no MLP, and no norm before it
  if (c.ffn_hidden > 0 || c.sandwich_norm)
    post_attention_layernorm = register_module("post_attention_layernorm", Norm(c.d_model, c.norm_eps, c.norm));
  if (c.sandwich_norm && c.ffn_hidden > 0) {
    pre_feedforward_layernorm = register_module("pre_feedforward_layernorm", Norm(c.d_model, c.norm_eps, c.norm));
    post_feedforward_layernorm = register_module("post_feedforward_layernorm", Norm(c.d_model, c.norm_eps, c.norm));
  }
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x_in,
                                        const std::function<torch::Tensor(const torch::Tensor&)>& attend,
                                        const torch::Tensor& keep) {
  auto a = attend(input_layernorm(x_in));
  auto x = x_in;
  if (keep.defined()) {  // every step below is per position
    x = x.reshape({-1, x.size(-1)}).index_select(0, keep);
    a = a.reshape({-1, a.size(-1)}).index_select(0, keep);
  }
  if (sandwich) a = post_attention_layernorm(a);
  if (!mlp) return x + a;
  if (parallel) return x + a + mlp(post_attention_layernorm(x));  // GPT-NeoX: both branches read x
  auto h = x + a;
  if (!sandwich) return h + mlp(post_attention_layernorm(h));
  return h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h)));
}

LlamaModelImpl::LlamaModelImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.d_model));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < c.n_layers; ++i) layers->push_back(DecoderLayer(c, i));
  norm = register_module("norm", Norm(c.d_model, c.norm_eps, c.norm));
}

// RoPE tables: angle(p, i) = p * f_i, f_i = theta^(-2i/R) over the R rotary dims,
// rescaled as the config's rope_scaling says; duplicated for the two halves.
static std::pair<torch::Tensor, torch::Tensor> rope_tables(int64_t R, double theta, const RopeScaling& scaling,
                                                           int64_t positions) {
  auto inv_freq = torch::pow(theta, -torch::arange(0, R, 2, torch::kDouble) / double(R));  // (R/2)
  if (scaling.type == "linear") inv_freq = inv_freq / scaling.factor;
  if (scaling.type == "llama3") {
    // Llama 3.1: long wavelengths slowed by `factor`, short ones kept, a smooth ramp between.
    const double low_wavelen = scaling.original_max_positions / scaling.low_freq_factor;
    const double high_wavelen = scaling.original_max_positions / scaling.high_freq_factor;
    auto wavelen = 2 * M_PI / inv_freq;
    auto smooth = (scaling.original_max_positions / wavelen - scaling.low_freq_factor) /
                  (scaling.high_freq_factor - scaling.low_freq_factor);
    auto blended = (1 - smooth) * inv_freq / scaling.factor + smooth * inv_freq;
    inv_freq = torch::where(wavelen > low_wavelen, inv_freq / scaling.factor,
                            torch::where(wavelen < high_wavelen, inv_freq, blended));
  }
  auto angles = torch::outer(torch::arange(positions, torch::kDouble), inv_freq);  // (maxT, R/2)
  auto table = torch::cat({angles, angles}, -1);                                  // (maxT, R)
  return {table.cos().to(torch::kFloat), table.sin().to(torch::kFloat)};
}

TransformerImpl::TransformerImpl(const ModelConfig& c, uint64_t seed, WeightInit init) : config(c) {
  c.validate("model config");
  model = register_module("model", LlamaModel(c));
  if (!c.tie_embeddings) lm_head = register_module("lm_head", Linear(c.d_model, c.vocab_size));

  auto [cos, sin] = rope_tables(c.rotary_dim(), c.rope_theta, c.rope_scaling, c.max_seq_len);
  rope_cos = register_buffer("rope_cos", cos);
  rope_sin = register_buffer("rope_sin", sin);
  if (c.sliding_window > 0 && c.rope_local_theta > 0) {  // sliding layers' own base, unscaled
    auto [lcos, lsin] = rope_tables(c.rotary_dim(), c.rope_local_theta, RopeScaling{}, c.max_seq_len);
    rope_cos_local = register_buffer("rope_cos_local", lcos);
    rope_sin_local = register_buffer("rope_sin_local", lsin);
  }

  // Init: N(0, std) everywhere, residual projections scaled by 1/sqrt(2L) (GPT-2),
  // norms at one. A private generator keeps the global torch RNG out of it.
  if (init == WeightInit::none) return;
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  const double resid_std = c.init_std / std::sqrt(2.0 * c.n_layers);
  for (auto& [name, p] : named_weights(*this)) {
    if (p.dim() < 2) continue;
    const bool resid = name.find("o_proj") != std::string::npos || name.find("down_proj") != std::string::npos;
    p.normal_(0.0, resid ? resid_std : c.init_std, gen);
  }
}

void TransformerImpl::set_reference_attention(bool on) {
  for (auto& layer : *model->layers) layer->as<DecoderLayerImpl>()->self_attn->reference_attention = on;
}

void TransformerImpl::set_prefix(const torch::Tensor& kv) {
  int64_t i = 0;
  for (auto& layer : *model->layers) {
    auto attn = layer->as<DecoderLayerImpl>()->self_attn;
    attn->prefix_k = kv.defined() ? kv[i][0] : torch::Tensor();
    attn->prefix_v = kv.defined() ? kv[i][1] : torch::Tensor();
    ++i;
  }
}

bool TransformerImpl::has_prefix() const {
  if (prefix_encoder) return true;
  const auto& first = model->layers->ptr(0)->as<DecoderLayerImpl>()->self_attn;
  return first->prefix_k.defined() && first->prefix_k.size(1) > 0;
}

KVCache TransformerImpl::make_cache(int64_t batch, int64_t capacity, torch::Tensor left_pad) const {
  check(capacity <= config.max_seq_len, "KV cache of {} positions exceeds the model's context of {}", capacity,
        config.max_seq_len);
  KVCache cache;
  auto opts = rope_cos.options();
  for (int i = 0; i < config.n_layers; ++i) {
    cache.keys.push_back(torch::zeros({batch, config.n_kv_heads, capacity, config.head_dim()}, opts));
    cache.values.push_back(torch::zeros({batch, config.n_kv_heads, capacity, config.head_dim()}, opts));
  }
  if (left_pad.defined()) cache.left_pad = left_pad.to(opts.device(), torch::kLong);
  return cache;
}

torch::Tensor TransformerImpl::logits(const torch::Tensor& x) {
  auto h = model->norm(x);
  if (lm_head) return lm_head(h);  // (B, T, V)
  if (q8_output) return q8_output->forward(h);
  const auto& w = model->embed_tokens->weight;
  return w.scalar_type() == h.scalar_type() ? torch::nn::functional::linear(h, w)
                                            : torch::nn::functional::linear(h.to(w.scalar_type()), w).to(h.scalar_type());
}

void use_bf16_weights(TransformerImpl& model) {
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : named_weights(model))
    if (p.dim() == 2 && name.find("lora_") == std::string::npos) p.set_data(p.to(torch::kBFloat16));
}

void use_q8_weights(TransformerImpl& model) {
  torch::NoGradGuard no_grad;
  check(!model.prefix_encoder, "8-bit weights are for inference; a prefix encoder is training");
  for (auto& m : model.modules(/*include_self=*/false)) {
    auto* linear = dynamic_cast<LinearImpl*>(m.get());
    if (!linear || linear->q8.defined() || linear->weight.dim() != 2) continue;
    check(!linear->lora_A, "8-bit weights: merge the LoRA adapter first");
    if (linear->weight.size(1) % kQ8Block == 0) linear->quantize_q8();
  }
  if (!model.lm_head && model.config.d_model % kQ8Block == 0) {
    auto head = std::make_shared<LinearImpl>(model.config.d_model, model.config.vocab_size);
    head->weight.set_data(model.model->embed_tokens->weight.detach().to(torch::kFloat).clone());
    head->quantize_q8();
    model.q8_output = head;
  }
}

void use_weight_dtype(TransformerImpl& model, const std::string& dtype, const std::string& flag) {
  check(dtype == "f32" || dtype == "bf16" || dtype == "q8", "{} must be f32, bf16 or q8, got '{}'", flag, dtype);
  if (dtype == "bf16") use_bf16_weights(model);
  if (dtype == "q8") use_q8_weights(model);
}

KVCache share_prefix(const KVCache& prompts, int64_t group, int64_t capacity) {
  KVCache out;
  const int64_t P = prompts.length, Bp = prompts.batch();
  for (size_t l = 0; l < prompts.keys.size(); ++l) {
    auto k = prompts.keys[l].narrow(2, 0, P), v = prompts.values[l].narrow(2, 0, P);  // (Bp, K, P, D)
    out.prefix_keys_t.push_back(k.transpose(-2, -1).contiguous());                   // (Bp, K, D, P)
    out.prefix_values.push_back(v.contiguous());
    auto shape = prompts.keys[l].sizes().vec();
    shape[0] = Bp * group;
    shape[2] = capacity;
    out.keys.push_back(torch::zeros(shape, prompts.keys[l].options()));
    out.values.push_back(torch::zeros(shape, prompts.values[l].options()));
  }
  out.prefix_pad = prompts.left_pad.defined()
                       ? prompts.left_pad
                       : torch::zeros({Bp}, torch::TensorOptions().dtype(torch::kLong).device(prompts.keys[0].device()));
  out.group = group;
  return out;
}

void select_rows(KVCache& cache, const torch::Tensor& rows) {
  for (auto& k : cache.keys) k = k.index_select(0, rows);
  for (auto& v : cache.values) v = v.index_select(0, rows);
  if (cache.left_pad.defined()) cache.left_pad = cache.left_pad.index_select(0, rows);
  if (cache.prefix_values.empty()) return;
  auto owners = torch::div(rows, cache.group, "floor");  // the prompt of each kept row
  for (auto& k : cache.prefix_keys_t) k = k.index_select(0, owners);
  for (auto& v : cache.prefix_values) v = v.index_select(0, owners);
  cache.prefix_pad = cache.prefix_pad.index_select(0, owners);
  cache.group = 1;
}

torch::Tensor TransformerImpl::forward(const torch::Tensor& ids, KVCache* cache) { return logits(hidden(ids, cache)); }

torch::Tensor TransformerImpl::hidden(const torch::Tensor& ids, KVCache* cache, const torch::Tensor& keep) {
  check(!(cache && keep.defined()), "hidden: kept positions are for a pass without a KV cache");
  if (cache && !cache->prefix_values.empty()) return hidden_after_prefix(ids, *cache);
  const int64_t B = ids.size(0), T = ids.size(1);
  positions_encoded.value += B * T;
  const int64_t start = cache ? cache->length : 0, S = start + T;
  check(S <= config.max_seq_len, "sequence of {} tokens exceeds the model's context of {}", S, config.max_seq_len);
  if (cache) {
    check(cache->batch() == B, "KV cache holds {} rows, the input has {}", cache->batch(), B);
    check(S <= cache->capacity(), "KV cache of {} positions cannot hold {} tokens", cache->capacity(), S);
  }
  auto dev = ids.device();
  if (prefix_encoder) set_prefix(prefix_encoder->forward());  // a fresh graph for each pass

  torch::Tensor pos, allowed;  // pos: (B, T) RoPE positions; allowed: (B, 1, T, S); undefined: 0.. and causal
  if (cache && cache->left_pad.defined()) {
    auto pad = cache->left_pad.view({B, 1});                                                        // (B, 1)
    auto abs_pos = torch::arange(start, S, torch::TensorOptions().dtype(torch::kLong).device(dev)).view({1, T});  // (1, T)
    pos = (abs_pos - pad).clamp_min(0);                                                             // (B, T)
    auto key = torch::arange(S, torch::TensorOptions().dtype(torch::kLong).device(dev)).view({1, 1, S});  // (1, 1, S)
    auto query = abs_pos.view({1, T, 1});                                                                // (1, T, 1)
    // A query sees earlier non-padding keys; a padding query sees itself only, so that
    // no softmax row is empty (its output is never used).
    allowed = ((key <= query) & (key >= pad.view({B, 1, 1}))) | (key == query);  // (B, T, S)
    allowed = allowed.unsqueeze(1);
  }
  const Positions at = positions(pos, B, T, allowed, start, S);

  auto x = embed(ids);  // (B, T, C)
  int i = 0;
  for (auto& m : *model->layers) {
    auto* layer = m->as<DecoderLayerImpl>();
    auto* ck = cache ? &cache->keys[i] : nullptr;
    auto* cv = cache ? &cache->values[i] : nullptr;
    const bool local = layer->sliding;
    const bool last = i + 1 == int(model->layers->size());
    x = layer->forward(
        x,
        [&](const torch::Tensor& h) {
          return layer->self_attn(h, local ? at.cos_local : at.cos, local ? at.sin_local : at.sin,
                                  local ? at.allowed_local : at.allowed, ck, cv, start);
        },
        last ? keep : torch::Tensor());
    ++i;
  }
  if (cache) cache->length = S;
  if (keep.defined() && model->layers->is_empty()) return x.reshape({-1, x.size(-1)}).index_select(0, keep);
  return x;
}

torch::Tensor TransformerImpl::embed(const torch::Tensor& ids) {
  auto x = model->embed_tokens(ids).to(rope_cos.scalar_type());  // (B, T, C)
  return config.scale_embeddings ? x * std::sqrt(double(config.d_model)) : x;
}

TransformerImpl::Positions TransformerImpl::positions(const torch::Tensor& pos, int64_t B, int64_t T,
                                                      torch::Tensor allowed, int64_t start, int64_t S) const {
  Positions at;
  const int64_t R = rope_cos.size(1);
  auto table = [&](const torch::Tensor& t) {
    return pos.defined() ? t.index_select(0, pos.flatten()).view({B, 1, T, R}) : t.narrow(0, start, T).view({1, 1, T, R});
  };
  at.cos = table(rope_cos);
  at.sin = table(rope_sin);
  at.cos_local = rope_cos_local.defined() ? table(rope_cos_local) : at.cos;
  at.sin_local = rope_sin_local.defined() ? table(rope_sin_local) : at.sin;
  at.allowed = allowed;
  at.allowed_local = allowed;
  const int64_t W = config.sliding_window;
  if (W > 0 && S > W) {  // sliding layers: a query at p sees keys p - W + 1 .. p
    auto opts = torch::TensorOptions().dtype(torch::kLong).device(rope_cos.device());
    auto key = torch::arange(S, opts).view({1, S});
    auto query = torch::arange(start, S, opts).view({T, 1});
    auto window = ((key > query - W) & (key <= query)).view({1, 1, T, S});
    // Padding queries keep seeing themselves (see hidden()).
    at.allowed_local = allowed.defined() ? allowed & (window | (key == query).view({1, 1, T, S})) : window;
  }
  return at;
}

torch::Tensor TransformerImpl::hidden_after_prefix(const torch::Tensor& ids, KVCache& cache) {
  check(!has_prefix(), "a shared prompt cache cannot be used with prefix-tuning's prefix (expand the rows instead)");
  const int64_t B = ids.size(0), T = ids.size(1), P = cache.prefix_length(), start = cache.length;
  positions_encoded.value += B * T;
  check(cache.batch() == B, "KV cache holds {} rows, the input has {}", cache.batch(), B);
  check(P + start + T <= config.max_seq_len, "sequence of {} tokens exceeds the model's context of {}", P + start + T,
        config.max_seq_len);
  check(start + T <= cache.capacity(), "KV cache of {} positions cannot hold {} tokens", cache.capacity(), start + T);
  check(config.sliding_window == 0, "a shared prompt cache is not implemented for sliding-window layers");
  const int64_t R = rope_cos.size(1), G = cache.group, Bp = B / G;
  auto dev = ids.device();
  auto pad = cache.prefix_pad.repeat_interleave(G, 0).view({B, 1});                                     // (B, 1)
  auto abs_pos = torch::arange(P + start, P + start + T, torch::TensorOptions().dtype(torch::kLong).device(dev)).view({1, T});
  auto pos = (abs_pos - pad).clamp_min(0);                                                               // (B, T)
  auto cos = rope_cos.index_select(0, pos.flatten()).view({B, 1, T, R});
  auto sin = rope_sin.index_select(0, pos.flatten()).view({B, 1, T, R});
  auto key = torch::arange(P, torch::TensorOptions().dtype(torch::kLong).device(dev)).view({1, 1, 1, P});
  auto prefix_allowed = key >= cache.prefix_pad.view({Bp, 1, 1, 1});  // (Bp, 1, 1, P)

  auto x = embed(ids);  // (B, T, C)
  int i = 0;
  for (auto& m : *model->layers) {
    auto* layer = m->as<DecoderLayerImpl>();
    const auto& pk = cache.prefix_keys_t[size_t(i)];  // (Bp, K, D, P)
    const auto& pv = cache.prefix_values[size_t(i)];  // (Bp, K, P, D)
    x = layer->forward(x, [&](const torch::Tensor& h) {
      return layer->self_attn->forward_with_prefix(h, cos, sin, cache.keys[size_t(i)], cache.values[size_t(i)], start,
                                                   pk, pv, prefix_allowed, G);
    });
    ++i;
  }
  cache.length = start + T;
  return x;
}

std::vector<std::pair<std::string, torch::Tensor>> named_weights(const torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : m.named_parameters(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace elab
