// Gemma 3 (text): RMSNorm applied as (1 + w), norms before and after attention and the
// MLP, GeGLU, embeddings scaled by sqrt(hidden_size), q/k norms, scores scaled by
// query_pre_attn_scalar, and sliding layers with their own RoPE base beside global ones.
#include <cmath>

#include "model/config_reader.h"
#include "model/family.h"
#include "model/gguf.h"

namespace elab {

ModelFamily gemma3_family() {
  ModelFamily f;
  f.name = "gemma3_text";
  f.models = "Gemma 3";
  f.activation_key = "hidden_activation";
  f.defaults = [](ModelConfig& c) {
    c.tie_embeddings = true;  // Hugging Face's default for Gemma
    c.rope_theta = 1e6;
    c.rope_local_theta = 1e4;
    c.qk_norm = true;
    c.norm = "rms1";
    c.sandwich_norm = true;
    c.scale_embeddings = true;
    c.activation = "gelu_tanh";
  };
  f.read = [](const ConfigReader& r, ModelConfig& c) {
    r.number("rope_local_base_freq", c.rope_local_theta);
    double scalar = c.head_dim();
    r.number("query_pre_attn_scalar", scalar);
    check(scalar > 0, "{}: 'query_pre_attn_scalar' must be positive", r.where);
    c.query_scale = 1.0 / std::sqrt(scalar);
    r.refuse_unless("attn_logit_softcapping", nullptr, "Gemma 2's soft-capping");
    r.refuse_unless("final_logit_softcapping", nullptr, "Gemma 2's soft-capping");
    r.refuse_unless("use_bidirectional_attention", false, "bidirectional attention");
    r.integer("sliding_window", c.sliding_window, false, 1 << 24);
    if (c.sliding_window > 0) {
      int pattern = 6;  // 4.x: every sixth layer is global (5.x lists layer_types instead)
      r.integer("sliding_window_pattern", pattern, false, 1 << 10);
      r.integer("_sliding_window_pattern", pattern, false, 1 << 10);
      check(pattern > 0, "{}: 'sliding_window_pattern' must be positive", r.where);
      for (int i = 0; i < c.n_layers; ++i) c.sliding_layers.push_back((i + 1) % pattern != 0);
    }
  };
  // As llama.cpp runs Gemma 3 (llama-model.cpp): every sixth layer global, the others
  // sliding with RoPE base 10000; scores scaled by 1/sqrt(key_length); norm weights
  // stored with Gemma's "1 +" already added by the converter, so plain RMSNorm; q and k
  // rows in Hugging Face's order.
  f.gguf_architecture = "gemma3";
  f.gguf_read = [](const GgufFile& g, ModelConfig& c) {
    c.head_dim_override = int(g.integer("gemma3.attention.key_length"));
    c.qk_norm = c.sandwich_norm = c.scale_embeddings = true;
    c.activation = "gelu_tanh";
    c.query_scale = 1.0 / std::sqrt(double(c.head_dim_override));
    c.sliding_window = int(g.integer_or("gemma3.attention.sliding_window", 0));
    c.rope_local_theta = 10000.0;
    for (int i = 0; c.sliding_window > 0 && i < c.n_layers; ++i) c.sliding_layers.push_back(i % 6 < 5);
  };
  // Sandwich norms: post_attention_layernorm norms the attention's output, and the norm
  // before the MLP is pre_feedforward_layernorm.
  f.gguf_layer_names = {{"post_attention_layernorm.weight", "post_attention_norm.weight"},
                        {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
                        {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
                        {"self_attn.q_norm.weight", "attn_q_norm.weight"},
                        {"self_attn.k_norm.weight", "attn_k_norm.weight"}};
  return f;
}

}  // namespace elab
