#pragma once
// Checkpoint directories (DESIGN.md): config.json (Hugging Face Llama keys),
// model.safetensors (Hugging Face tensor names), tokenizer.json, meta.json, and any
// extra files the trainer adds (optimizer.safetensors, trainer_state.json).
// A save replaces the whole directory in one atomic step: a reader, or a run killed
// mid-save, sees the old checkpoint or the new one, never a mix.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fs.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "model/transformer.h"
#include "text/tokenizer.h"

namespace elab {

struct NamedBytes {
  std::string name;   // file name inside the checkpoint directory
  std::string bytes;
};

struct Checkpoint {
  fs::path dir;
  ModelConfig config;
  Transformer model{nullptr};
  Tokenizer tokenizer;  // the byte tokenizer for models trained here
  nlohmann::json meta;  // preset, recipe, seed, tokens seen, data hash, ...
};

// Files already in `dir` that the save does not rewrite (a training log, say) are kept.
// `tokenizer`: the model's (a pretrained model's BPE is written as Hugging Face's
// tokenizer.json and tokenizer_config.json, and config.json names its special ids).
void save_checkpoint(const fs::path& dir, Transformer& model, const nlohmann::json& meta,
                     const std::vector<NamedBytes>& extra_files = {}, const Tokenizer& tokenizer = Tokenizer());

// Writes `files` into `dir` as one atomic directory swap (the mechanism of
// save_checkpoint, also used for adapter directories).
void write_directory(const fs::path& dir, const std::vector<NamedBytes>& files);

// Checks every file: missing, truncated or malformed files and tensors that do not
// match config.json are Errors naming the file and the problem. A *.gguf file in place
// of the directory is read by model/gguf_model.h.
Checkpoint load_checkpoint(const fs::path& dir, const torch::Device& device = torch::kCPU);

// The weight files of a checkpoint directory: model.safetensors, or the shards that
// model.safetensors.index.json lists (a shard it lists that is missing is an Error).
std::vector<fs::path> weight_files(const fs::path& dir);
bool has_weights(const fs::path& dir);  // either form is present
// The parameter count of a model directory's config.json or a GGUF file's metadata,
// without reading weights; 0 for a directory without config.json (an adapter).
int64_t model_parameter_count(const fs::path& path);

// The config and weights of a Hugging Face (or elab) directory, without its tokenizer.
Transformer load_weights(const fs::path& dir, ModelConfig& config, const torch::Device& device = torch::kCPU);

// Copies `file`'s tensors into `params` by name; names and shapes must match exactly.
void load_named_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& params,
                        const std::vector<std::pair<std::string, torch::Tensor>>& tensors, const std::string& where);

nlohmann::json read_json_file(const fs::path& path);  // Error names the path on failure

}  // namespace elab
