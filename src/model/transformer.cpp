#include "model/transformer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "core/error.h"
#include "model/attention.h"

namespace elab {

LinearImpl::LinearImpl(int64_t in, int64_t out) { weight = register_parameter("weight", torch::empty({out, in})); }

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  // bf16 weights (use_bf16_weights): the product in bf16 with float32 accumulation,
  // activations float32 on either side.
  auto y = weight.scalar_type() == x.scalar_type()
               ? torch::nn::functional::linear(x, weight)
               : torch::nn::functional::linear(x.to(weight.scalar_type()), weight).to(x.scalar_type());
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

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) { weight = register_parameter("weight", torch::ones({dim})); }

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps) * weight;
}

AttentionImpl::AttentionImpl(const ModelConfig& c)
    : n_heads(c.n_heads), n_kv_heads(c.n_kv_heads), head_dim(c.head_dim()) {
  q_proj = register_module("q_proj", Linear(c.d_model, n_heads * head_dim));
  k_proj = register_module("k_proj", Linear(c.d_model, n_kv_heads * head_dim));
  v_proj = register_module("v_proj", Linear(c.d_model, n_kv_heads * head_dim));
  o_proj = register_module("o_proj", Linear(n_heads * head_dim, c.d_model));
}

// Rotates pairs (i, i + D/2): the Hugging Face Llama convention.
static torch::Tensor rotate_half(const torch::Tensor& x) {
  auto halves = x.chunk(2, -1);
  return torch::cat({-halves[1], halves[0]}, -1);
}

// Queries, keys and values of x with RoPE applied: (B, H, T, D), (B, K, T, D), (B, K, T, D).
std::array<torch::Tensor, 3> AttentionImpl::project(const torch::Tensor& x, const torch::Tensor& cos,
                                                    const torch::Tensor& sin) {
  const int64_t B = x.size(0), T = x.size(1), H = n_heads, K = n_kv_heads, D = head_dim;
  // Fused below when training: concatenating the weights costs a copy per call, which
  // pays for itself against three backward passes but not when decoding a token at a
  // time (measured on preset l: training +12%, decoding at batch 1 -9%).
  if (!torch::GradMode::is_enabled() || q_proj->lora_A || k_proj->lora_A || v_proj->lora_A) {
    auto q = q_proj(x).view({B, T, H, D}).transpose(1, 2);
    auto k = k_proj(x).view({B, T, K, D}).transpose(1, 2);
    auto v = v_proj(x).view({B, T, K, D}).transpose(1, 2);
    return {q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin, v};
  }
  // One matrix product for q, k and v, and one RoPE pass over the q and k heads together:
  // fewer, larger operations (the small presets are bound by per-operation overhead).
  auto w = torch::cat({q_proj->weight, k_proj->weight, v_proj->weight}, 0);            // ((H+2K)D, C)
  auto qkv = torch::nn::functional::linear(x, w).view({B, T, H + 2 * K, D});          // (B, T, H+2K, D)
  auto qk = qkv.narrow(2, 0, H + K).transpose(1, 2);                                  // (B, H+K, T, D)
  qk = qk * cos + rotate_half(qk) * sin;
  return {qk.narrow(1, 0, H), qk.narrow(1, H, K), qkv.narrow(2, H + K, K).transpose(1, 2)};
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     const torch::Tensor& allowed, torch::Tensor* cache_k, torch::Tensor* cache_v,
                                     int64_t start) {
  const int64_t B = x.size(0), T = x.size(1);
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
  if (n_kv_heads != n_heads) {
    k = k.repeat_interleave(n_heads / n_kv_heads, 1);  // (B, H, S, D)
    v = v.repeat_interleave(n_heads / n_kv_heads, 1);
  }
  auto y = reference_attention ? attention_reference(q, k, v, mask, true) : attention(q, k, v, mask, true);
  return o_proj(y.transpose(1, 2).reshape({B, T, n_heads * head_dim}));  // (B, T, C)
}

torch::Tensor AttentionImpl::forward_with_prefix(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                                 torch::Tensor& cache_k, torch::Tensor& cache_v, int64_t start,
                                                 const torch::Tensor& prefix_k_t, const torch::Tensor& prefix_v,
                                                 const torch::Tensor& prefix_allowed, int64_t group) {
  const int64_t B = x.size(0), T = x.size(1), H = n_heads, D = head_dim, Bp = B / group, P = prefix_v.size(2);
  const double scale = 1.0 / std::sqrt(double(D));
  auto [q, k, v] = project(x, cos, sin);
  cache_k.narrow(2, start, T).copy_(k);
  cache_v.narrow(2, start, T).copy_(v);
  auto gk = cache_k.narrow(2, 0, start + T), gv = cache_v.narrow(2, 0, start + T);  // (B, K, S, D)
  if (n_kv_heads != n_heads) {
    gk = gk.repeat_interleave(H / n_kv_heads, 1);
    gv = gv.repeat_interleave(H / n_kv_heads, 1);
  }
  // Prompt part: the `group` rows of a prompt share one GEMM against its keys.
  auto qg = q.view({Bp, group, H, T, D}).permute({0, 2, 1, 3, 4}).reshape({Bp, H, group * T, D});
  auto sp = torch::matmul(qg, prefix_k_t) * scale;  // (Bp, H, group*T, P)
  sp = sp.masked_fill(prefix_allowed.logical_not(), -std::numeric_limits<double>::infinity());
  sp = sp.view({Bp, H, group, T, P}).permute({0, 2, 1, 3, 4}).reshape({B, H, T, P});
  // Generated part: causal among the new positions.
  torch::Tensor sg;
  if (T == 1) {
    sg = (q * gk).sum(-1).unsqueeze(2) * scale;  // (B, H, 1, S)
  } else {
    sg = torch::matmul(q, gk.transpose(-2, -1)) * scale;  // (B, H, T, S)
    auto future = torch::ones({T, start + T}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).triu(start + 1);
    sg = sg.masked_fill(future, -std::numeric_limits<double>::infinity());
  }
  auto w = torch::softmax(torch::cat({sp, sg}, -1), -1);
  auto wp = w.narrow(-1, 0, P), wg = w.narrow(-1, P, start + T);
  auto yp = torch::matmul(wp.reshape({Bp, group, H, T, P}).permute({0, 2, 1, 3, 4}).reshape({Bp, H, group * T, P}),
                          prefix_v)                                              // (Bp, H, group*T, D)
                .view({Bp, H, group, T, D})
                .permute({0, 2, 1, 3, 4})
                .reshape({B, H, T, D});
  auto yg = T == 1 ? (wg.transpose(-2, -1) * gv).sum(2, /*keepdim=*/true) : torch::matmul(wg, gv);  // (B, H, T, D)
  return o_proj((yp + yg).transpose(1, 2).reshape({B, T, H * D}));
}

MLPImpl::MLPImpl(const ModelConfig& c) {
  gate_proj = register_module("gate_proj", Linear(c.d_model, c.ffn_hidden));
  up_proj = register_module("up_proj", Linear(c.d_model, c.ffn_hidden));
  down_proj = register_module("down_proj", Linear(c.ffn_hidden, c.d_model));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x) {
  if (!torch::GradMode::is_enabled() || gate_proj->lora_A || up_proj->lora_A)
    return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
  // gate and up as one matrix product (when training; see AttentionImpl::project)
  auto gu = torch::nn::functional::linear(x, torch::cat({gate_proj->weight, up_proj->weight}, 0)).chunk(2, -1);
  return down_proj(torch::silu(gu[0]) * gu[1]);
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c) {
  // Registration order is parameter order (the safetensors list, the optimiser's slots
  // and the gradient-norm sum): kept as it was before attention-only blocks existed.
  self_attn = register_module("self_attn", Attention(c));
  if (c.ffn_hidden > 0) mlp = register_module("mlp", MLP(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.d_model, c.norm_eps));
  // attention-only blocks: no MLP, and no norm before it
  if (c.ffn_hidden > 0)
    post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.d_model, c.norm_eps));
}

LlamaModelImpl::LlamaModelImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.d_model));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < c.n_layers; ++i) layers->push_back(DecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.d_model, c.norm_eps));
}

TransformerImpl::TransformerImpl(const ModelConfig& c, uint64_t seed) : config(c) {
  c.validate("model config");
  model = register_module("model", LlamaModel(c));
  if (!c.tie_embeddings) lm_head = register_module("lm_head", Linear(c.d_model, c.vocab_size));

  // RoPE tables: angle(p, i) = p * theta^(-2i/D), duplicated for the two halves.
  const int64_t D = c.head_dim();
  auto inv_freq = torch::pow(c.rope_theta, -torch::arange(0, D, 2, torch::kDouble) / double(D));  // (D/2)
  auto angles = torch::outer(torch::arange(c.max_seq_len, torch::kDouble), inv_freq);           // (maxT, D/2)
  auto table = torch::cat({angles, angles}, -1);                                                // (maxT, D)
  rope_cos = register_buffer("rope_cos", table.cos().to(torch::kFloat));
  rope_sin = register_buffer("rope_sin", table.sin().to(torch::kFloat));

  // Init: N(0, std) everywhere, residual projections scaled by 1/sqrt(2L) (GPT-2),
  // norms at one. A private generator keeps the global torch RNG out of it.
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  const double resid_std = c.init_std / std::sqrt(2.0 * c.n_layers);
  for (auto& [name, p] : named_weights(*this)) {
    if (p.dim() < 2) continue;
    bool resid = name.find("o_proj") != std::string::npos || name.find("down_proj") != std::string::npos;
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
  const auto& w = model->embed_tokens->weight;
  return w.scalar_type() == h.scalar_type() ? torch::nn::functional::linear(h, w)
                                            : torch::nn::functional::linear(h.to(w.scalar_type()), w).to(h.scalar_type());
}

void use_bf16_weights(TransformerImpl& model) {
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : named_weights(model))
    if (p.dim() == 2 && name.find("lora_") == std::string::npos) p.set_data(p.to(torch::kBFloat16));
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

torch::Tensor TransformerImpl::hidden(const torch::Tensor& ids, KVCache* cache) {
  if (cache && !cache->prefix_values.empty()) return hidden_after_prefix(ids, *cache);
  const int64_t B = ids.size(0), T = ids.size(1);
  const int64_t start = cache ? cache->length : 0, S = start + T;
  check(S <= config.max_seq_len, "sequence of {} tokens exceeds the model's context of {}", S, config.max_seq_len);
  if (cache) {
    check(cache->batch() == B, "KV cache holds {} rows, the input has {}", cache->batch(), B);
    check(S <= cache->capacity(), "KV cache of {} positions cannot hold {} tokens", cache->capacity(), S);
  }
  const int64_t D = config.head_dim();
  auto dev = ids.device();
  if (prefix_encoder) set_prefix(prefix_encoder->forward());  // a fresh graph for each pass

  torch::Tensor cos, sin, allowed;  // cos, sin: (B|1, 1, T, D); allowed: (B|1, 1, T, S)
  if (cache && cache->left_pad.defined()) {
    auto pad = cache->left_pad.view({B, 1});                                                        // (B, 1)
    auto abs_pos = torch::arange(start, S, torch::TensorOptions().dtype(torch::kLong).device(dev)).view({1, T});  // (1, T)
    auto pos = (abs_pos - pad).clamp_min(0);                                                        // (B, T)
    cos = rope_cos.index_select(0, pos.flatten()).view({B, 1, T, D});
    sin = rope_sin.index_select(0, pos.flatten()).view({B, 1, T, D});
    auto key = torch::arange(S, torch::TensorOptions().dtype(torch::kLong).device(dev)).view({1, 1, S});  // (1, 1, S)
    auto query = abs_pos.view({1, T, 1});                                                                // (1, T, 1)
    // A query sees earlier non-padding keys; a padding query sees itself only, so that
    // no softmax row is empty (its output is never used).
    allowed = ((key <= query) & (key >= pad.view({B, 1, 1}))) | (key == query);  // (B, T, S)
    allowed = allowed.unsqueeze(1);
  } else {
    cos = rope_cos.narrow(0, start, T).view({1, 1, T, D});
    sin = rope_sin.narrow(0, start, T).view({1, 1, T, D});
  }

  auto x = model->embed_tokens(ids).to(rope_cos.scalar_type());  // (B, T, C)
  int i = 0;
  for (auto& m : *model->layers) {
    auto* layer = m->as<DecoderLayerImpl>();
    auto* ck = cache ? &cache->keys[i] : nullptr;
    auto* cv = cache ? &cache->values[i] : nullptr;
    x = x + layer->self_attn(layer->input_layernorm(x), cos, sin, allowed, ck, cv, start);
    if (layer->mlp) x = x + layer->mlp(layer->post_attention_layernorm(x));
    ++i;
  }
  if (cache) cache->length = S;
  return x;
}

torch::Tensor TransformerImpl::hidden_after_prefix(const torch::Tensor& ids, KVCache& cache) {
  check(!has_prefix(), "a shared prompt cache cannot be used with prefix-tuning's prefix (expand the rows instead)");
  const int64_t B = ids.size(0), T = ids.size(1), P = cache.prefix_length(), start = cache.length;
  check(cache.batch() == B, "KV cache holds {} rows, the input has {}", cache.batch(), B);
  check(P + start + T <= config.max_seq_len, "sequence of {} tokens exceeds the model's context of {}", P + start + T,
        config.max_seq_len);
  check(start + T <= cache.capacity(), "KV cache of {} positions cannot hold {} tokens", cache.capacity(), start + T);
  const int64_t D = config.head_dim(), G = cache.group, Bp = B / G, H = config.n_heads;
  auto dev = ids.device();
  auto pad = cache.prefix_pad.repeat_interleave(G, 0).view({B, 1});                                     // (B, 1)
  auto abs_pos = torch::arange(P + start, P + start + T, torch::TensorOptions().dtype(torch::kLong).device(dev)).view({1, T});
  auto pos = (abs_pos - pad).clamp_min(0);                                                               // (B, T)
  auto cos = rope_cos.index_select(0, pos.flatten()).view({B, 1, T, D});
  auto sin = rope_sin.index_select(0, pos.flatten()).view({B, 1, T, D});
  auto key = torch::arange(P, torch::TensorOptions().dtype(torch::kLong).device(dev)).view({1, 1, 1, P});
  auto prefix_allowed = key >= cache.prefix_pad.view({Bp, 1, 1, 1});  // (Bp, 1, 1, P)

  auto x = model->embed_tokens(ids).to(rope_cos.scalar_type());  // (B, T, C)
  int i = 0;
  for (auto& m : *model->layers) {
    auto* layer = m->as<DecoderLayerImpl>();
    auto pk = cache.prefix_keys_t[size_t(i)], pv = cache.prefix_values[size_t(i)];
    if (config.n_kv_heads != H) {
      pk = pk.repeat_interleave(H / config.n_kv_heads, 1);
      pv = pv.repeat_interleave(H / config.n_kv_heads, 1);
    }
    x = x + layer->self_attn->forward_with_prefix(layer->input_layernorm(x), cos, sin, cache.keys[size_t(i)],
                                                  cache.values[size_t(i)], start, pk, pv, prefix_allowed, G);
    if (layer->mlp) x = x + layer->mlp(layer->post_attention_layernorm(x));
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
