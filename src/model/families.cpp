#include "model/families.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/names.h"
#include "model/family.h"

namespace elab {

// One file each in src/model/families/.
ModelFamily llama_family();
ModelFamily mistral_family();
ModelFamily qwen2_family();
ModelFamily qwen3_family();
ModelFamily gemma3_family();
ModelFamily gpt_neox_family();
ModelFamily phi3_family();

namespace {

std::vector<ModelFamily>& table() {
  static std::vector<ModelFamily> families = {
      llama_family(), mistral_family(), qwen2_family(), qwen3_family(), gemma3_family(), gpt_neox_family(), phi3_family(),
  };
  return families;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Names that are not weights in any family elab reads.
bool is_stored_buffer(const std::string& name) {
  return ends_with(name, "rotary_emb.inv_freq") || ends_with(name, "attention.bias") ||
         ends_with(name, "attention.masked_bias");
}

}  // namespace

const std::vector<ModelFamily>& model_families() { return table(); }

void register_family(ModelFamily family) {
  check(!family.name.empty(), "a model family needs a name (its config.json model_type)");
  for (const auto& f : table()) check(f.name != family.name, "model family {} is already registered", family.name);
  table().push_back(std::move(family));
}

const ModelFamily& find_family(const std::string& name, const std::string& where) {
  std::vector<std::string> names;
  for (const auto& f : table()) {
    if (f.name == name) return f;
    names.push_back(f.name);
  }
  fail("{}: model_type '{}' is not supported (elab reads {})", where, name, fmt::join(names, ", "));
}

const ModelFamily& find_gguf_family(const std::string& architecture, const std::string& where) {
  std::vector<std::string> names;
  for (const auto& f : table()) {
    if (f.gguf_architecture.empty()) continue;
    if (f.gguf_architecture == architecture) return f;
    names.push_back("'" + f.gguf_architecture + "' (" + f.models + ")");
  }
  fail("{}: architecture '{}' is not supported (this build runs GGUF files of architecture {})", where, architecture,
       fmt::join(names, ", "));
}

bool swap_prefix(std::string& name, const std::string& from, const std::string& to) {
  if (name.rfind(from, 0) != 0) return false;
  name = to + name.substr(from.size());
  return true;
}

NamedTensors tensors_from_family(const ModelConfig& config, NamedTensors tensors, const std::string& where) {
  NamedTensors kept;
  for (auto& [name, t] : tensors) {
    if (is_stored_buffer(name)) continue;
    if (config.tie_embeddings && name == "lm_head.weight") continue;  // tied: the embedding is the output layer
    kept.emplace_back(std::move(name), std::move(t));
  }
  const ModelFamily& family = find_family(config.family, where);
  return family.from_checkpoint ? family.from_checkpoint(config, std::move(kept), where) : kept;
}

NamedTensors tensors_to_family(const ModelConfig& config, NamedTensors tensors) {
  const ModelFamily& family = find_family(config.family, "the model's config");
  return family.to_checkpoint ? family.to_checkpoint(config, std::move(tensors)) : tensors;
}

}  // namespace elab
