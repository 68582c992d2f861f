#pragma once
// A Llama-style decoder: token embedding, L blocks of (RMSNorm -> causal multi-head
// attention with RoPE -> residual, RMSNorm -> SwiGLU MLP -> residual), final RMSNorm,
// output projection (tied to the embedding by default). No biases.
//
// The pretrained families are the same code path with ModelConfig's switches on:
// biases (Qwen2, GPT-NeoX), q/k norms (Qwen3, Gemma 3), (1 + w) and sandwich norms,
// GeGLU and scaled embeddings (Gemma 3), sliding-window layers with their own RoPE base
// (Mistral, Gemma 3), LayerNorm, parallel blocks and partial rotary (GPT-NeoX).
//
// Module and parameter names are those of Hugging Face's LlamaForCausalLM (and Gemma 3's
// extra norms), so that named_parameters() is the tensor list of model.safetensors as
// it is; model/families.h converts GPT-NeoX's layout.
//
// Shape letters used in comments throughout the model code:
//   B batch, T new tokens this call, S key length (cached + new), C d_model,
//   H query heads, K key/value heads, D head dim, F ffn hidden, V vocab, L layers.
#include <torch/torch.h>

#include <array>
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "model/config.h"

namespace elab {

// Keys and values of every layer, preallocated to `capacity` positions.
// Rows may be left-padded: row b's first left_pad[b] positions are padding, never
// attended to, and its RoPE positions start after them.
//
// A cache may also hold a shared prefix: rows come in groups of `group` consecutive rows
// that continue the same prompt (N samples of one prompt), and the prompt's keys and
// values are kept once per group instead of once per row. Then `keys`/`values` hold only
// the positions after the prompt, and `left_pad` is undefined.
struct KVCache {
  std::vector<torch::Tensor> keys, values;  // per layer: (B, K, capacity, D)
  int64_t length = 0;                       // positions filled, the same for every row
  torch::Tensor left_pad;                   // (B,) int64, or undefined when no row is padded

  std::vector<torch::Tensor> prefix_keys_t;  // per layer: (B / group, K, D, P), keys transposed
  std::vector<torch::Tensor> prefix_values;  // per layer: (B / group, K, P, D)
  torch::Tensor prefix_pad;                  // (B / group,) left padding of each prompt
  int64_t group = 1;

  int64_t capacity() const { return keys.empty() ? 0 : keys[0].size(2); }
  int64_t batch() const { return keys.empty() ? 0 : keys[0].size(0); }
  int64_t prefix_length() const { return prefix_values.empty() ? 0 : prefix_values[0].size(2); }
};

// Turns a prefilled prompt cache of Bp rows into a shared-prefix cache of Bp * group rows
// with room for `capacity` new positions each.
KVCache share_prefix(const KVCache& prompts, int64_t group, int64_t capacity);
// Keeps only the rows in `rows` (ascending), e.g. to drop finished sequences; a shared
// prefix is expanded to one copy per kept row (group becomes 1).
void select_rows(KVCache& cache, const torch::Tensor& rows);

// A linear layer, y = x W^T (+ b), with an optional LoRA adapter (Hu et al. 2021):
// y = x W^T + scale * B(A(dropout(x))), A: (r, in), B: (out, r). Adapters are attached,
// merged and saved by model/adapters.h; without one this is a plain linear layer.
struct LinearImpl : torch::nn::Module {
  LinearImpl(int64_t in, int64_t out, bool with_bias = false);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;  // (out, in); empty with 8-bit weights
  torch::Tensor bias;    // (out), or undefined
  // 8-bit weights (use_q8_weights, model/q8.h): int8 (out, in) and float32 (out, in / 32).
  torch::Tensor q8, q8_scale;
  void quantize_q8();
  std::shared_ptr<LinearImpl> lora_A, lora_B;  // null without an adapter
  double lora_scale = 0;                       // alpha / r
  double lora_dropout = 0;
};
TORCH_MODULE(Linear);

// Prefix-tuning's reparameterisation (Li & Liang 2021), used only while training: a
// small table of L vectors through a two-layer MLP gives every layer's L prefix keys and
// values. Training through the MLP is more stable than training the prefixes directly;
// afterwards the prefixes are computed once and the MLP is dropped.
struct PrefixEncoderImpl : torch::nn::Module {
  PrefixEncoderImpl(int64_t length, int64_t d_model, int64_t hidden, int64_t n_layers, int64_t n_kv_heads,
                    int64_t head_dim);
  torch::Tensor forward();  // (layers, 2, K, L, D): keys then values
  torch::Tensor embedding;  // (L, C)
  torch::nn::Linear up{nullptr}, down{nullptr};
  int64_t length, n_layers, n_kv_heads, head_dim;
};
TORCH_MODULE(PrefixEncoder);

// ModelConfig::norm: "rms" x / rms(x) * w; "rms1" the same times (1 + w) (Gemma, whose
// weights start at zero); "layer" LayerNorm with a bias (GPT-NeoX).
struct NormImpl : torch::nn::Module {
  NormImpl(int64_t dim, double eps, const std::string& kind = "rms");
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;  // (C)
  torch::Tensor bias;    // (C), LayerNorm only
  double eps;
  std::string kind;
};
TORCH_MODULE(Norm);

struct AttentionImpl : torch::nn::Module {
  explicit AttentionImpl(const ModelConfig& c);
  // x: (B, T, C); cos, sin: broadcastable to (B, 1, T, D); allowed: see attention.h.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& allowed, torch::Tensor* cache_k, torch::Tensor* cache_v, int64_t start);
  // The same with a shared prefix (see KVCache): prefix_allowed is (Bp, 1, 1, P).
  torch::Tensor forward_with_prefix(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                    torch::Tensor& cache_k, torch::Tensor& cache_v, int64_t start,
                                    const torch::Tensor& prefix_k_t, const torch::Tensor& prefix_v,
                                    const torch::Tensor& prefix_allowed, int64_t group);
  std::array<torch::Tensor, 3> project(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);
  bool fused_projection() const;                     // q, k and v as one product (training)
  torch::Tensor project_fused(const torch::Tensor& x);  // (B, T, H + 2K, D)
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  Norm q_norm{nullptr}, k_norm{nullptr};  // over each head's D (ModelConfig::qk_norm), else null
  int64_t n_heads, n_kv_heads, head_dim, rotary_dim;
  double query_factor = 1;  // queries are multiplied by this so that 1/sqrt(D) scaling gives ModelConfig::query_scale
  bool reference_attention = false;  // plain matmul + softmax instead of the fused kernel
  // Prefix-tuning: L learned keys and values (K, L, D) that every query of every row may
  // attend to, before the sequence itself. Not rotated, and the sequence keeps its own
  // positions (0, 1, ...), so the prefix takes no room in the context. Undefined: none.
  torch::Tensor prefix_k, prefix_v;
};
TORCH_MODULE(Attention);

struct MLPImpl : torch::nn::Module {
  explicit MLPImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // down(act(gate(x)) * up(x)), or down(act(up(x))) ungated
  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};  // gate_proj null when ungated
  std::string activation;
};
TORCH_MODULE(MLP);

struct DecoderLayerImpl : torch::nn::Module {
  DecoderLayerImpl(const ModelConfig& c, int index);
  // One block around `attend`, the attention of the normed input (either of
  // AttentionImpl's two entry points).
  // keep (optional): flat indices into the B x T positions; the block's output at those
  // positions only, (N, C). Attention still reads every position; what follows it (the
  // residual, the MLP) runs on the kept rows alone.
  torch::Tensor forward(const torch::Tensor& x, const std::function<torch::Tensor(const torch::Tensor&)>& attend,
                        const torch::Tensor& keep = {});
  // Llama: post_attention_layernorm is the norm before the MLP. Sandwich (Gemma 3): it
  // norms the attention's output, and pre_/post_feedforward_layernorm surround the MLP.
  Norm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Norm pre_feedforward_layernorm{nullptr}, post_feedforward_layernorm{nullptr};
  Attention self_attn{nullptr};
  MLP mlp{nullptr};  // null in attention-only blocks (ffn_hidden 0), with post_attention_layernorm
  bool parallel = false, sandwich = false, sliding = false;
};
TORCH_MODULE(DecoderLayer);

struct LlamaModelImpl : torch::nn::Module {
  explicit LlamaModelImpl(const ModelConfig& c);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  Norm norm{nullptr};
};
TORCH_MODULE(LlamaModel);

// What a new model's weights start as: drawn from the seed, or left unwritten for a
// loader that overwrites every one of them (and checks that it did: a missing tensor is
// an Error), since drawing 135M normals is most of a small model's load.
enum class WeightInit { random, none };

struct TransformerImpl : torch::nn::Module {
  // Weights are initialised from `seed` on the CPU, so every device starts the same.
  TransformerImpl(const ModelConfig& c, uint64_t seed, WeightInit init = WeightInit::random);

  // ids: (B, T) int64. Without a cache: a causal pass over T tokens. With one: the T
  // tokens continue each row after cache->length positions, and the cache grows by T.
  // Returns logits (B, T, V).
  torch::Tensor forward(const torch::Tensor& ids, KVCache* cache = nullptr);

  KVCache make_cache(int64_t batch, int64_t capacity, torch::Tensor left_pad = {}) const;
  // Final norm and output projection: hidden states (B, T, C) -> logits (B, T, V).
  torch::Tensor logits(const torch::Tensor& x);
  // forward() without the final norm and output projection: the residual stream
  // (B, T, C), for callers that need logits at a few positions only (a pretrained
  // model's logits at every prompt position can be gigabytes: B x T x 49,152 floats).
  // keep (optional, without a cache): flat indices into the B x T positions, and the
  // result is (N, C), those positions alone. The last block then runs its MLP on them
  // only: with the loss on a few answer tokens a row, that is most of a one-layer
  // model's products skipped, with the same numbers at the kept positions.
  torch::Tensor hidden(const torch::Tensor& ids, KVCache* cache = nullptr, const torch::Tensor& keep = {});
  // hidden() for a cache with a shared prefix (KVCache::prefix_values set).
  torch::Tensor hidden_after_prefix(const torch::Tensor& ids, KVCache& cache);
  void set_reference_attention(bool on);
  // The prefix-tuning keys and values, (layers, 2, K, L, D); undefined clears them.
  void set_prefix(const torch::Tensor& kv);
  bool has_prefix() const;

  ModelConfig config;
  LlamaModel model{nullptr};
  Linear lm_head{nullptr};  // null when tied to model->embed_tokens
  PrefixEncoder prefix_encoder{nullptr};  // while prefix-tuning: recomputes the prefixes each forward
  torch::Tensor rope_cos, rope_sin;  // (max_seq_len, rotary dims), buffers
  torch::Tensor rope_cos_local, rope_sin_local;  // sliding layers' own base (Gemma 3), else undefined
  // With 8-bit weights and a tied embedding: the output projection's 8-bit copy (the
  // embedding itself stays float32 for lookups). Not a registered module.
  std::shared_ptr<LinearImpl> q8_output;

  // Rows x positions run through the layers by hidden(), summed over the model's life:
  // what callers that promise to encode something once (a shared few-shot prefix) are
  // tested by. A copy of the model starts its own count at zero.
  struct PositionCount {
    std::atomic<int64_t> value{0};
    PositionCount() = default;
    PositionCount(const PositionCount&) {}
    PositionCount& operator=(const PositionCount&) { return *this; }
  };
  PositionCount positions_encoded;

 private:
  // RoPE tables at the positions of this call, global and sliding layers'; masks
  // likewise (undefined: plain causal).
  struct Positions {
    torch::Tensor cos, sin, cos_local, sin_local, allowed, allowed_local;
  };
  Positions positions(const torch::Tensor& pos, int64_t B, int64_t T, torch::Tensor allowed, int64_t start,
                      int64_t S) const;
  torch::Tensor embed(const torch::Tensor& ids);
};
TORCH_MODULE(Transformer);

// Stores the matrices (projections, embedding, output) in bfloat16, which halves the
// bytes a decoding step reads; norms, RoPE tables, the KV cache and activations stay
// float32. For pretrained models on CPUs with bf16 instructions (docs/PRETRAINED.md
// gives the measured speed and the logit difference it costs).
void use_bf16_weights(TransformerImpl& model);
// Stores every projection whose input width is a multiple of 32 (and the output
// projection) as 8-bit weights in blocks of 32 with a float32 scale each: a quarter of
// float32's bytes, for decoding. Inference only (no adapters, no training).
void use_q8_weights(TransformerImpl& model);
// "f32" (as loaded), "bf16" or "q8", by name; `flag` names the option in the error.
void use_weight_dtype(TransformerImpl& model, const std::string& dtype, const std::string& flag);

// Parameters in a fixed order with Hugging Face names (tied lm_head omitted).
std::vector<std::pair<std::string, torch::Tensor>> named_weights(const torch::nn::Module& m);

}  // namespace elab
