#pragma once
// Model configuration and the scale ladder. Torch-free, so the CLI and the planner can
// list presets and count parameters without compiling libtorch headers.
#include <cstdint>
#include <string>
#include <vector>

namespace elab {

// RoPE frequency scaling, as Hugging Face configs name it ("rope_type").
struct RopeScaling {
  std::string type = "default";  // default, linear, llama3
  double factor = 1;
  double low_freq_factor = 1, high_freq_factor = 4;  // llama3
  int original_max_positions = 8192;                 // llama3
};

// One model code path; the features of the pretrained families are switches on it, all
// off for elab's own models (a Llama without biases). Comments name the families that
// switch each one on and the config.json key it comes from.
struct ModelConfig {
  std::string family = "llama";  // config.json model_type: llama, mistral, qwen2, qwen3, gemma3_text, gpt_neox
  int vocab_size = 260;        // byte tokenizer: 256 bytes + 4 specials
  int d_model = 128;           // hidden_size
  int n_layers = 4;            // num_hidden_layers
  int n_heads = 4;             // num_attention_heads
  int n_kv_heads = 4;          // num_key_value_heads (< n_heads: grouped-query attention)
  int ffn_hidden = 352;        // intermediate_size of the SwiGLU MLP
  int max_seq_len = 1024;      // max_position_embeddings (RoPE table length)
  double rope_theta = 10000;   // RoPE base
  double norm_eps = 1e-5;      // RMSNorm epsilon
  bool tie_embeddings = true;  // lm_head shares embed_tokens (halves small models' size)
  double init_std = 0.02;      // N(0, std) init; residual projections get std/sqrt(2L)

  int head_dim_override = 0;      // head_dim, when not hidden/heads (Qwen3, Gemma 3, Mistral)
  RopeScaling rope_scaling;       // rope_scaling / rope_parameters (Llama 3, linear)
  double rotary_fraction = 1;     // partial_rotary_factor / rotary_pct: RoPE on the first dims only (GPT-NeoX)
  bool qkv_bias = false;          // q, k, v projections with biases (Qwen2, GPT-NeoX)
  bool o_bias = false;            // output projection with a bias (GPT-NeoX)
  bool mlp_bias = false;          // MLP projections with biases (GPT-NeoX)
  bool qk_norm = false;           // a norm over each head's queries and keys before RoPE (Qwen3, Gemma 3)
  std::string norm = "rms";       // rms; rms1 (weight applied as 1 + w, Gemma); layer (LayerNorm with bias, GPT-NeoX)
  std::string activation = "silu";  // silu, gelu_tanh (Gemma), gelu (GPT-NeoX)
  bool gated_mlp = true;          // down(act(gate x) * up x); false: down(act(up x)) (GPT-NeoX)
  bool parallel_block = false;    // x + attn(ln1 x) + mlp(ln2 x) (GPT-NeoX use_parallel_residual)
  bool sandwich_norm = false;     // norms after attention and MLP too (Gemma 3)
  bool scale_embeddings = false;  // embeddings times sqrt(hidden_size) (Gemma)
  double query_scale = 0;         // attention scores times this; 0: 1/sqrt(head_dim) (Gemma 3 query_pre_attn_scalar)
  int sliding_window = 0;         // sliding layers see this many keys back, themselves included; 0: none
  std::vector<bool> sliding_layers;  // which layers slide (Gemma 3 layer_types); empty: all, when a window is set
  double rope_local_theta = 0;    // RoPE base of sliding layers (Gemma 3 rope_local_base_freq); 0: rope_theta
  // The config.json of a pretrained model, written back when the model is saved, so that
  // a fine-tuned family model reads back as what it was. Empty for elab's own models.
  std::string source_json;

  int head_dim() const { return head_dim_override > 0 ? head_dim_override : n_heads > 0 ? d_model / n_heads : 0; }
  int rotary_dim() const { return int(head_dim() * rotary_fraction) / 2 * 2; }
  bool layer_slides(int layer) const {
    return sliding_window > 0 && (sliding_layers.empty() || sliding_layers[size_t(layer)]);
  }
  int64_t param_count() const;
  void validate(const std::string& where) const;  // throws Error naming `where`

  // Hugging Face config.json: elab's own models as Llama (same key names), so the
  // weights load elsewhere too; a pretrained model as the file it came from.
  std::string to_hf_json() const;
  static ModelConfig from_hf_json(const std::string& json, const std::string& where);
};

struct Preset {
  std::string name;
  ModelConfig config;
  double lr;            // peak AdamW learning rate by the ladder's rule
  bool cpu_sized;       // trains in minutes-to-hours on two cores
};

// The scale ladder (docs/ARCHITECTURE.md, "Scale ladder"): xs s m l xl xxl for CPUs,
// 3xl 4xl for GPUs; ~4x parameters per rung.
const std::vector<Preset>& presets();
const Preset& find_preset(const std::string& name);  // unknown name: Error listing the valid ones

// A model asked for on the command line or in a study: a preset, a config.json, or a
// shape given knob by knob, each knob overriding what the preset or file says.
// Zero / empty = not given.
struct ModelShape {
  std::string preset;       // a ladder preset as the starting point
  std::string config_file;  // or a Hugging Face config.json (Llama keys)
  int d_model = 0, layers = 0, heads = 0, kv_heads = 0, max_seq_len = 0;
  int ffn = -1;             // -1: not given; 0 only through mlp = "none"
  double rope_theta = 0;
  std::string mlp;          // "swiglu" or "none" (attention-only blocks)
  bool no_tie = false;      // an output projection of its own

  bool empty() const;
};

struct ResolvedModel {
  std::string name;  // the preset's name when nothing overrides it, else a shape name ("d64-L2-H4-attn")
  ModelConfig config;
  double lr;         // the preset's, or the ladder's rule for this width
};

// Without a preset or file, the knobs start from preset s's rules: head dimension 16,
// SwiGLU hidden 8/3 x width. Errors name the flag: heads that do not divide the width,
// non-positive sizes, a preset together with a file.
ResolvedModel resolve_model(const ModelShape& shape);

}  // namespace elab
