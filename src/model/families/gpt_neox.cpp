// GPT-NeoX (Pythia): attention and MLP side by side on the residual (use_parallel_residual),
// LayerNorm with biases, a plain GELU MLP with biases, biases on every attention
// projection, partial rotary dimensions (rotary_pct), and its own tensor names with q, k
// and v fused per head.
#include <array>
#include <map>

#include "model/config_reader.h"
#include "model/family.h"

namespace elab {

namespace {

// GPT-NeoX <-> elab, outside the layers and inside one ("attention.dense" <-> "self_attn.o_proj").
const std::vector<std::pair<std::string, std::string>> kNeoxTop = {
    {"gpt_neox.embed_in.", "model.embed_tokens."},
    {"gpt_neox.final_layer_norm.", "model.norm."},
    {"embed_out.", "lm_head."},
};
const std::vector<std::pair<std::string, std::string>> kNeoxLayer = {
    {"input_layernorm.", "input_layernorm."},
    {"post_attention_layernorm.", "post_attention_layernorm."},
    {"attention.dense.", "self_attn.o_proj."},
    {"mlp.dense_h_to_4h.", "mlp.up_proj."},
    {"mlp.dense_4h_to_h.", "mlp.down_proj."},
};

NamedTensors neox_to_elab(const ModelConfig& c, NamedTensors tensors, const std::string& where) {
  const int64_t H = c.n_heads, D = c.head_dim();
  NamedTensors out;
  for (auto& [hf_name, t] : tensors) {
    std::string name = hf_name;
    bool known = false;
    for (const auto& [from, to] : kNeoxTop) known = known || swap_prefix(name, from, to);
    if (!known && swap_prefix(name, "gpt_neox.layers.", "model.layers.")) {
      const size_t dot = name.find('.', std::string("model.layers.").size());
      check(dot != std::string::npos, "{}: unexpected tensor '{}'", where, hf_name);
      const std::string head = name.substr(0, dot + 1);  // "model.layers.N."
      std::string rest = name.substr(dot + 1);
      if (swap_prefix(rest, "attention.query_key_value.", "")) {
        // Fused per head: rows [h*3D, h*3D + D) are head h's queries, then its keys, values.
        check(t.size(0) == 3 * H * D, "{}: tensor '{}' has {} rows; 3 x {} heads x {} dims expected", where, hf_name,
              t.size(0), H, D);
        auto shape = t.sizes().vec();
        auto per_head = t.reshape({H, 3, D, t.numel() / (3 * H * D)});
        const char* names[] = {"q_proj", "k_proj", "v_proj"};
        for (int64_t part = 0; part < 3; ++part) {
          shape[0] = H * D;
          out.emplace_back(head + "self_attn." + names[part] + "." + rest,
                           per_head.select(1, part).reshape(shape).contiguous());
        }
        continue;
      }
      for (const auto& [from, to] : kNeoxLayer) known = known || swap_prefix(rest, from, to);
      name = head + rest;
    }
    // Unknown names pass through unchanged: load_named_tensors reports them by name.
    out.emplace_back(known ? name : hf_name, t);
  }
  return out;
}

NamedTensors elab_to_neox(const ModelConfig& c, NamedTensors tensors) {
  const int64_t H = c.n_heads, D = c.head_dim();
  NamedTensors out;
  std::map<std::string, std::array<torch::Tensor, 3>> fused;  // "model.layers.N." + "weight"/"bias"
  for (auto& [elab_name, t] : tensors) {
    std::string name = elab_name;
    bool known = false;
    for (const auto& [hf, ours] : kNeoxTop) known = known || swap_prefix(name, ours, hf);
    if (!known && swap_prefix(name, "model.layers.", "gpt_neox.layers.")) {
      const size_t dot = name.find('.', std::string("gpt_neox.layers.").size());
      const std::string head = name.substr(0, dot + 1);
      std::string rest = name.substr(dot + 1);
      int part = rest.rfind("self_attn.q_proj.", 0) == 0 ? 0 : rest.rfind("self_attn.k_proj.", 0) == 0 ? 1
                 : rest.rfind("self_attn.v_proj.", 0) == 0 ? 2 : -1;
      if (part >= 0) {
        const std::string key = head + "attention.query_key_value." + rest.substr(std::string("self_attn.q_proj.").size());
        if (!fused.count(key)) out.emplace_back(key, torch::Tensor());  // keeps the layer's place in the order
        fused[key][size_t(part)] = t;
        continue;
      }
      for (const auto& [hf, ours] : kNeoxLayer) swap_prefix(rest, ours, hf);
      name = head + rest;
    }
    out.emplace_back(name, t);
  }
  for (auto& [name, t] : out) {
    if (t.defined()) continue;
    auto& parts = fused[name];
    auto shape = parts[0].sizes().vec();
    std::vector<torch::Tensor> heads;
    for (auto& p : parts) heads.push_back(p.reshape({H, 1, D, p.numel() / (H * D)}));
    shape[0] = 3 * H * D;
    t = torch::cat(heads, 1).reshape(shape).contiguous();
  }
  return out;
}

}  // namespace

ModelFamily gpt_neox_family() {
  ModelFamily f;
  f.name = "gpt_neox";
  f.models = "Pythia, GPT-NeoX";
  f.defaults = [](ModelConfig& c) {
    c.norm = "layer";
    c.gated_mlp = false;
    c.mlp_bias = true;
    c.parallel_block = true;
    c.qkv_bias = c.o_bias = true;  // attention_bias defaults to true
    c.activation = "gelu";
  };
  f.read = [](const ConfigReader& r, ModelConfig& c) {
    r.number("layer_norm_eps", c.norm_eps);
    r.number("rotary_pct", c.rotary_fraction);  // partial_rotary_factor, read after, wins
    r.boolean("use_parallel_residual", c.parallel_block);
  };
  f.from_checkpoint = neox_to_elab;
  f.to_checkpoint = elab_to_neox;
  return f;
}

}  // namespace elab
