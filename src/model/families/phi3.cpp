// Phi-3 (mini, small, medium): Llama's block with q, k and v in one projection
// (self_attn.qkv_proj: the rows of q, then k, then v) and the MLP's gate and up in one
// (mlp.gate_up_proj: the gate's rows, then up's), and an optional sliding window. The
// long-context variants' RoPE ("longrope") is refused by the common RoPE reader.
#include <algorithm>
#include <map>

#include "model/config_reader.h"
#include "model/family.h"

namespace elab {

void read_sliding_window(const ConfigReader& r, ModelConfig& c);  // mistral.cpp

namespace {

// "model.layers.N.<rest>" -> ("model.layers.N.", "<rest>"); false for other names.
bool split_layer(const std::string& name, std::string& head, std::string& rest) {
  const std::string prefix = "model.layers.";
  if (name.rfind(prefix, 0) != 0) return false;
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos) return false;
  head = name.substr(0, dot + 1);
  rest = name.substr(dot + 1);
  return true;
}

NamedTensors phi3_to_elab(const ModelConfig& c, NamedTensors tensors, const std::string& where) {
  const int64_t q = int64_t(c.n_heads) * c.head_dim(), kv = int64_t(c.n_kv_heads) * c.head_dim(), ffn = c.ffn_hidden;
  NamedTensors out;
  for (auto& [name, t] : tensors) {
    std::string head, rest;
    if (split_layer(name, head, rest) && rest == "self_attn.qkv_proj.weight") {
      check(t.dim() == 2 && t.size(0) == q + 2 * kv, "{}: tensor '{}' has {} rows; q {} + k {} + v {} expected", where,
            name, t.size(0), q, kv, kv);
      out.emplace_back(head + "self_attn.q_proj.weight", t.narrow(0, 0, q).contiguous());
      out.emplace_back(head + "self_attn.k_proj.weight", t.narrow(0, q, kv).contiguous());
      out.emplace_back(head + "self_attn.v_proj.weight", t.narrow(0, q + kv, kv).contiguous());
    } else if (split_layer(name, head, rest) && rest == "mlp.gate_up_proj.weight") {
      check(t.dim() == 2 && t.size(0) == 2 * ffn, "{}: tensor '{}' has {} rows; gate {} + up {} expected", where, name,
            t.size(0), ffn, ffn);
      out.emplace_back(head + "mlp.gate_proj.weight", t.narrow(0, 0, ffn).contiguous());
      out.emplace_back(head + "mlp.up_proj.weight", t.narrow(0, ffn, ffn).contiguous());
    } else {
      out.emplace_back(std::move(name), std::move(t));  // Llama's names; unknown ones are reported by the loader
    }
  }
  return out;
}

NamedTensors elab_to_phi3(const ModelConfig&, NamedTensors tensors) {
  // Each fused tensor takes the place of its first part; the later parts join it.
  NamedTensors out;
  std::map<std::string, size_t> fused_at;  // fused name -> its index in `out`
  std::map<std::string, std::vector<torch::Tensor>> parts;
  auto fuse = [&](const std::string& fused, size_t part, size_t of, torch::Tensor t) {
    auto& p = parts[fused];
    p.resize(of);
    p[part] = std::move(t);
    if (!fused_at.count(fused)) {
      fused_at[fused] = out.size();
      out.emplace_back(fused, torch::Tensor());
    }
  };
  for (auto& [name, t] : tensors) {
    std::string head, rest;
    if (split_layer(name, head, rest)) {
      const std::vector<std::string> attn = {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"};
      const std::vector<std::string> mlp = {"mlp.gate_proj.weight", "mlp.up_proj.weight"};
      if (auto it = std::find(attn.begin(), attn.end(), rest); it != attn.end()) {
        fuse(head + "self_attn.qkv_proj.weight", size_t(it - attn.begin()), 3, t);
        continue;
      }
      if (auto it = std::find(mlp.begin(), mlp.end(), rest); it != mlp.end()) {
        fuse(head + "mlp.gate_up_proj.weight", size_t(it - mlp.begin()), 2, t);
        continue;
      }
    }
    out.emplace_back(std::move(name), std::move(t));
  }
  for (auto& [name, t] : out)
    if (!t.defined()) t = torch::cat(parts[name], 0).contiguous();
  return out;
}

}  // namespace

ModelFamily phi3_family() {
  ModelFamily f;
  f.name = "phi3";
  f.models = "Phi-3, Phi-3.5 (mini, small, medium)";
  f.read = read_sliding_window;
  f.from_checkpoint = phi3_to_elab;
  f.to_checkpoint = elab_to_phi3;
  return f;
}

}  // namespace elab
