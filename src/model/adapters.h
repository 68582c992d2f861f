#pragma once
// Adapters on a base checkpoint: LoRA (low-rank updates of chosen projections) and
// prefix-tuning (learned keys and values every layer attends to).
//
// An adapter directory holds only what fine-tuning changed, plus a reference to its base:
//   adapter_config.json        PEFT's keys (peft_type, r, lora_alpha, target_modules,
//                              num_virtual_tokens, base_model_name_or_path) and elab's:
//                              base_hash (content hash of the base's config.json and
//                              model.safetensors), base_relative (path from the adapter)
//   adapter_model.safetensors  LoRA: "base_model.model.<module>.lora_A.weight" / ".lora_B.weight"
//                              prefix: "prefix_key_values" (layers, 2, K, L, D)
//   meta.json, train_log.jsonl
// A full fine-tune is an ordinary checkpoint directory whose meta.json names its base.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/checkpoint.h"

namespace elab {

struct LoraConfig {
  int64_t rank = 8;
  double alpha = 16;  // scale = alpha / rank
  double dropout = 0;
  std::vector<std::string> targets = {"q_proj", "v_proj"};
};
// "q,v", "q_proj,v_proj", or "all" (every linear layer of the blocks) -> module names.
std::vector<std::string> parse_lora_targets(const std::string& spec);

// Adds A (r, in) ~ U(-1/sqrt(in), 1/sqrt(in)) from `seed`, and B (out, r) = 0, to every
// targeted projection: the model's outputs are unchanged until B is trained.
void attach_lora(Transformer& model, const LoraConfig& config, uint64_t seed);
// W += scale * B A for every adapted projection, and the adapters are removed.
void merge_lora(Transformer& model);
// The adapter tensors, named as in adapter_model.safetensors (PEFT's names).
std::vector<std::pair<std::string, torch::Tensor>> lora_weights(Transformer& model);

struct PrefixConfig {
  int64_t length = 16;  // L prefix positions per layer
  int64_t hidden = 0;   // the reparameterisation MLP's width; 0: 2 * d_model
};
// Installs the training-time prefix encoder (its own parameters, drawn from `seed`).
void attach_prefix_encoder(Transformer& model, const PrefixConfig& config, uint64_t seed);
// Computes the prefixes once, keeps them as fixed tensors and drops the encoder.
void freeze_prefix(Transformer& model);
// The current prefixes, (layers, 2, K, L, D).
torch::Tensor prefix_key_values(Transformer& model);

// SHA-256 of a model's files, 64 hex digits: a GGUF file, or a directory's config.json
// then its weight files in order (`cat config.json model.safetensors | sha256sum`). What
// an adapter records of its base and a shipped base of itself. Computed once per state of
// the files in a process (their paths, sizes and modification times), however often a
// study's jobs ask.
std::string checkpoint_hash(const fs::path& dir);
// Whether `recorded` is the model's hash: SHA-256, or (16 hex digits) the FNV-1a that
// adapters and shipped bases written before SHA-256 recorded.
bool checkpoint_hash_matches(const fs::path& dir, const std::string& recorded);

// "lora" or "prefix" for an adapter directory, "" for anything else.
std::string adapter_type(const fs::path& dir);

// Writes an adapter directory for `model` (which carries a LoRA adapter or frozen
// prefixes) on the base checkpoint `base_dir`.
void save_adapter(const fs::path& dir, Transformer& model, const fs::path& base_dir, const nlohmann::json& adapter_config,
                  const nlohmann::json& meta, const std::vector<NamedBytes>& extra_files = {});

// A checkpoint directory, or an adapter directory loaded onto its base (which must exist
// and match the recorded hash). The Checkpoint's dir and meta are the given directory's.
Checkpoint load_model_dir(const fs::path& dir, const torch::Device& device = torch::kCPU);

}  // namespace elab
