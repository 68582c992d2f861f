#include "model/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/names.h"
#include "model/config_reader.h"
#include "model/family.h"

namespace elab {

int64_t ModelConfig::param_count() const {
  const int64_t d = d_model, q = int64_t(n_heads) * head_dim(), kv = int64_t(n_kv_heads) * head_dim();
  const int64_t attn = 2 * d * q + 2 * d * kv + (qkv_bias ? q + 2 * kv : 0) + (o_bias ? d : 0) +
                       (qk_norm ? 2 * head_dim() : 0);
  const int64_t mlp = (gated_mlp ? 3 : 2) * d * ffn_hidden + (mlp_bias ? ffn_hidden + d : 0);
  const int64_t norm_size = norm == "layer" ? 2 * d : d;
  const int64_t norms = ((ffn_hidden > 0 ? 2 : 1) + (sandwich_norm ? 2 : 0)) * norm_size;
  const int64_t emb = int64_t(vocab_size) * d * (tie_embeddings ? 1 : 2);
  return n_layers * (attn + mlp + norms) + emb + norm_size;
}

void ModelConfig::validate(const std::string& where) const {
  auto positive = [&](const char* key, double v) { check(v > 0, "{}: {} must be positive, got {}", where, key, v); };
  positive("vocab_size", vocab_size);
  positive("hidden_size", d_model);
  positive("num_hidden_layers", n_layers);
  positive("num_attention_heads", n_heads);
  positive("num_key_value_heads", n_kv_heads);
  check(ffn_hidden >= 0, "{}: intermediate_size must be positive, or 0 for attention-only blocks, got {}", where,
        ffn_hidden);
  positive("max_position_embeddings", max_seq_len);
  positive("rope_theta", rope_theta);
  positive("rms_norm_eps", norm_eps);
  check(head_dim_override > 0 || d_model % n_heads == 0, "{}: hidden_size {} is not divisible by num_attention_heads {}",
        where, d_model, n_heads);
  check(head_dim() % 2 == 0, "{}: head dimension {} must be even for RoPE", where, head_dim());
  check(rotary_fraction > 0 && rotary_fraction <= 1 && rotary_dim() >= 2,
        "{}: partial_rotary_factor {} leaves no rotary dimensions of the head's {}", where, rotary_fraction, head_dim());
  check(norm == "rms" || norm == "rms1" || norm == "layer", "{}: norm '{}' is not one of rms, rms1, layer", where, norm);
  check(activation == "silu" || activation == "gelu_tanh" || activation == "gelu",
        "{}: activation '{}' is not one of silu, gelu_tanh, gelu", where, activation);
  check(sliding_window >= 0, "{}: sliding_window must be positive, got {}", where, sliding_window);
  check(sliding_layers.empty() || int(sliding_layers.size()) == n_layers,
        "{}: layer_types lists {} layers for num_hidden_layers {}", where, sliding_layers.size(), n_layers);
  // In double: a hostile shape must not overflow the count that would refuse it.
  const double params = double(vocab_size) * d_model * (tie_embeddings ? 1 : 2) +
                        double(n_layers) * (4.0 * d_model * double(n_heads) * head_dim() + 3.0 * d_model * ffn_hidden);
  check(params < 1e12, "{}: a model of this shape would have {:.3g} parameters, beyond what elab loads", where, params);
  check(n_heads % n_kv_heads == 0, "{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", where,
        n_heads, n_kv_heads);
}

std::string ModelConfig::to_hf_json() const {
  if (!source_json.empty()) {  // a pretrained model's own config; the weights are written in float32
    auto j = nlohmann::ordered_json::parse(source_json);
    if (j.contains("torch_dtype")) j["torch_dtype"] = "float32";
    if (j.contains("dtype")) j["dtype"] = "float32";
    return j.dump(2) + "\n";
  }
  nlohmann::ordered_json j;
  j["architectures"] = {"LlamaForCausalLM"};
  j["model_type"] = "llama";
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = d_model;
  j["intermediate_size"] = ffn_hidden;
  j["num_hidden_layers"] = n_layers;
  j["num_attention_heads"] = n_heads;
  j["num_key_value_heads"] = n_kv_heads;
  j["max_position_embeddings"] = max_seq_len;
  j["rope_theta"] = rope_theta;
  j["rms_norm_eps"] = norm_eps;
  j["tie_word_embeddings"] = tie_embeddings;
  j["hidden_act"] = "silu";
  j["attention_bias"] = false;
  j["initializer_range"] = init_std;
  j["bos_token_id"] = 256;
  j["eos_token_id"] = 257;
  j["pad_token_id"] = 258;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

// --- Reading config.json ---------------------------------------------------------
// One reader for every family: the keys are Hugging Face's, in both the 4.x form
// (rope_theta, rope_scaling, rotary_pct, rope_local_base_freq) and the 5.x form
// (rope_parameters, per layer type for Gemma 3). A key that would change the function
// computed and that elab does not implement is an error naming it, never ignored.

ModelConfig ModelConfig::from_hf_json(const std::string& text, const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers too large for a double
    fail("{}: malformed JSON: {}", where, e.what());
  }
  check(j.is_object(), "{}: expected a JSON object", where);
  const ConfigReader r{j, where};
  ModelConfig c;
  c.family = r.string("model_type", "llama");
  const ModelFamily& family = find_family(c.family, where);
  c.tie_embeddings = false;  // Hugging Face's default; a family may say otherwise
  if (family.defaults) family.defaults(c);
  try {
    r.integer("vocab_size", c.vocab_size, true, 1 << 24);
    r.integer("hidden_size", c.d_model, true);
    r.integer("intermediate_size", c.ffn_hidden, true);
    r.integer("num_hidden_layers", c.n_layers, true);
    r.integer("num_attention_heads", c.n_heads, true);
    c.n_kv_heads = c.n_heads;
    r.integer("num_key_value_heads", c.n_kv_heads, false);
    r.integer("max_position_embeddings", c.max_seq_len, false, 1 << 21);
    r.integer("head_dim", c.head_dim_override, false, 1 << 14);
    // Checked before anything derives a head dimension from them.
    check(c.n_heads > 0 && c.d_model > 0, "{}: hidden_size and num_attention_heads must be positive", where);
    r.number("initializer_range", c.init_std);
    r.number("rms_norm_eps", c.norm_eps);
    r.boolean("tie_word_embeddings", c.tie_embeddings);
    r.number("rope_theta", c.rope_theta);
    bool attention_bias = c.qkv_bias;
    r.boolean("attention_bias", attention_bias);
    c.qkv_bias = c.o_bias = attention_bias;

    if (family.read) family.read(r, c);

    // RoPE: 5.x rope_parameters (flat, or per layer type as Gemma 3's), else the 4.x keys.
    r.number("partial_rotary_factor", c.rotary_fraction);
    if (r.has("rope_scaling")) r.rope(j["rope_scaling"], "rope_scaling", c.rope_theta, &c.rope_scaling, nullptr);
    if (r.has("rope_parameters")) {
      const auto& p = j["rope_parameters"];
      if (p.is_object() && p.contains("full_attention")) {
        r.rope(p["full_attention"], "rope_parameters.full_attention", c.rope_theta, &c.rope_scaling, nullptr);
        if (p.contains("sliding_attention"))
          r.rope(p["sliding_attention"], "rope_parameters.sliding_attention", c.rope_local_theta, nullptr, nullptr);
      } else {
        r.rope(p, "rope_parameters", c.rope_theta, &c.rope_scaling, &c.rotary_fraction);
      }
    }
    if (r.has("layer_types")) {
      const auto& types = j["layer_types"];
      check(types.is_array() && int(types.size()) == c.n_layers, "{}: 'layer_types' must list {} layers", where,
            c.n_layers);
      c.sliding_layers.clear();
      for (const auto& t : types) {
        check(t == "full_attention" || t == "sliding_attention",
              "{}: layer type {} is not supported (full_attention or sliding_attention)", where, t.dump());
        c.sliding_layers.push_back(t == "sliding_attention" && c.sliding_window > 0);
      }
    }

    // The MLP.
    r.boolean("mlp_bias", c.mlp_bias);
    const char* act_key = family.activation_key.c_str();
    if (r.has(act_key)) {
      const std::string act = r.string(act_key, "");
      if (act == "silu" || act == "swish") c.activation = "silu";
      else if (act == "gelu_pytorch_tanh" || act == "gelu_new" || act == "gelu_fast") c.activation = "gelu_tanh";
      else if (act == "gelu") c.activation = "gelu";
      else fail("{}: {} '{}' is not supported (silu, gelu, gelu_pytorch_tanh)", where, act_key, act);
    }
    r.refuse_unless("pretraining_tp", 1, "tensor-parallel slicing of the projections");
  } catch (const nlohmann::json::exception& e) {  // a value of an unexpected JSON type deep inside
    fail("{}: unexpected value: {}", where, e.what());
  }
  // elab writes its own models' config.json (to_hf_json); any other config is kept as it
  // came, so that a saved fine-tune reads back as the same function (RoPE scaling, head_dim,
  // biases and the rest are keys to_hf_json does not write).
  const bool own = c.family == "llama" && !r.has("transformers_version") && c.rope_scaling.type == "default" &&
                   (c.head_dim_override == 0 || c.head_dim_override * c.n_heads == c.d_model) && !c.qkv_bias &&
                   !c.o_bias && !c.mlp_bias;
  if (!own) c.source_json = text;
  c.validate(where);
  return c;
}

// The ladder's rule, one line per knob (docs/ARCHITECTURE.md repeats it):
//  * each rung has ~4x the parameters of the one below (20K, 80K, 300K, 1.2M, 5M, 20M, ...);
//  * width and depth grow together: depth ~ d_model / 32 (at least 1), so the shape
//    stays between 20 and 40 channels per layer;
//  * head dimension 16 up to d_model 160, 32 up to 384, 64 above;
//  * SwiGLU hidden = 8/3 * d_model rounded up to a multiple of 16;
//  * peak learning rate 3e-3 * (128 / d_model), capped at 3e-3 (smaller for wider models,
//    in the spirit of muP), with the same warm-up and cosine schedule on every rung.
static int swiglu_hidden(int d) { return (8 * d / 3 + 15) / 16 * 16; }
static double ladder_lr(int d) { return std::min(3e-3, 3e-3 * 128.0 / d); }

static Preset make_preset(const std::string& name, int d, int layers, int head_dim, bool cpu) {
  ModelConfig c;
  c.d_model = d;
  c.n_layers = layers;
  c.n_heads = d / head_dim;
  c.n_kv_heads = c.n_heads;
  c.ffn_hidden = swiglu_hidden(d);
  c.max_seq_len = cpu ? 1024 : 2048;
  double lr = ladder_lr(d);
  return Preset{name, c, lr, cpu};
}

bool ModelShape::empty() const {
  return preset.empty() && config_file.empty() && d_model == 0 && layers == 0 && heads == 0 && kv_heads == 0 &&
         max_seq_len == 0 && ffn < 0 && rope_theta == 0 && mlp.empty() && !no_tie;
}

ResolvedModel resolve_model(const ModelShape& s) {
  check(s.preset.empty() || s.config_file.empty(), "--preset and --model-config are two starting points; give one");
  for (auto [flag, v] : {std::pair{"--d-model", s.d_model}, {"--layers", s.layers}, {"--heads", s.heads},
                         {"--kv-heads", s.kv_heads}, {"--max-seq-len", s.max_seq_len}})
    check(v >= 0, "{} must be positive, got {}", flag, v);
  check(s.ffn >= -1, "--ffn must be positive, got {}", s.ffn);
  check(s.ffn != 0, "--ffn must be positive; attention-only blocks are --mlp none");
  check(s.rope_theta >= 0, "--rope-theta must be positive, got {}", s.rope_theta);
  check(s.mlp.empty() || s.mlp == "swiglu" || s.mlp == "none", "--mlp must be swiglu or none, got '{}'", s.mlp);
  check(!(s.mlp == "none" && s.ffn > 0), "--mlp none has no MLP to give --ffn {} to", s.ffn);

  ResolvedModel r;
  std::string base_name;
  if (!s.config_file.empty()) {
    std::ifstream in(s.config_file);
    check(bool(in), "--model-config: cannot open {}", s.config_file);
    std::stringstream text;
    text << in.rdbuf();
    r.config = ModelConfig::from_hf_json(text.str(), s.config_file);
    r.lr = ladder_lr(r.config.d_model);
    base_name = "config";
  } else {
    const Preset& p = find_preset(s.preset.empty() ? "s" : s.preset);
    r.config = p.config;
    r.lr = p.lr;
    base_name = p.name;
  }
  ModelConfig& c = r.config;
  const bool overridden = s.d_model || s.layers || s.heads || s.kv_heads || s.max_seq_len || s.ffn > 0 ||
                          s.rope_theta > 0 || !s.mlp.empty() || s.no_tie;
  if (s.d_model) {
    c.d_model = s.d_model;
    r.lr = ladder_lr(c.d_model);
    if (!s.heads) c.n_heads = std::max(1, c.d_model / 16);  // the ladder's head dimension
    if (s.ffn < 0 && c.ffn_hidden > 0) c.ffn_hidden = swiglu_hidden(c.d_model);
  }
  if (s.layers) c.n_layers = s.layers;
  if (s.heads) c.n_heads = s.heads;
  c.n_kv_heads = s.kv_heads ? s.kv_heads : (s.heads || s.d_model ? c.n_heads : c.n_kv_heads);
  if (s.ffn > 0) c.ffn_hidden = s.ffn;
  if (s.mlp == "none") c.ffn_hidden = 0;
  if (s.mlp == "swiglu" && c.ffn_hidden == 0) c.ffn_hidden = swiglu_hidden(c.d_model);
  if (s.max_seq_len) c.max_seq_len = s.max_seq_len;
  if (s.rope_theta > 0) c.rope_theta = s.rope_theta;
  if (s.no_tie) c.tie_embeddings = false;
  check(c.d_model % c.n_heads == 0, "--heads {} does not divide --d-model {}", c.n_heads, c.d_model);
  check(c.n_heads % c.n_kv_heads == 0, "--kv-heads {} does not divide --heads {}", c.n_kv_heads, c.n_heads);
  c.validate("model shape");
  r.name = !overridden && s.config_file.empty()
               ? base_name
               : fmt::format("d{}-L{}-H{}{}{}{}", c.d_model, c.n_layers, c.n_heads,
                             c.n_kv_heads != c.n_heads ? fmt::format("-K{}", c.n_kv_heads) : "",
                             c.ffn_hidden == 0 ? "-attn" : (c.ffn_hidden != swiglu_hidden(c.d_model)
                                                                ? fmt::format("-F{}", c.ffn_hidden) : ""),
                             c.tie_embeddings ? "" : "-untied");
  return r;
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> ladder = {
      make_preset("xs", 32, 1, 16, true),    //  ~21K
      make_preset("s", 48, 2, 16, true),     //  ~69K
      make_preset("m", 80, 3, 16, true),     // ~265K
      make_preset("l", 144, 5, 16, true),    // ~1.3M
      make_preset("xl", 256, 6, 32, true),   // ~4.8M
      make_preset("xxl", 384, 12, 32, true), //  ~21M
      make_preset("3xl", 640, 16, 64, false),   // ~79M (GPU)
      make_preset("4xl", 1024, 24, 64, false),  // ~302M (GPU)
  };
  return ladder;
}

const Preset& find_preset(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& p : presets()) {
    if (p.name == name) return p;
    names.push_back(p.name);
  }
  fail_unknown("preset", name, names);
}

}  // namespace elab
