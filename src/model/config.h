#pragma once
// Model configuration and the scale ladder. Torch-free, so the CLI and the planner can
// list presets and count parameters without compiling libtorch headers.
#include <cstdint>
#include <string>
#include <vector>

namespace elab {

struct ModelConfig {
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

  int head_dim() const { return d_model / n_heads; }
  int64_t param_count() const;
  void validate(const std::string& where) const;  // throws Error naming `where`

  // Hugging Face Llama config.json (same key names), so the weights load elsewhere too.
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
