#pragma once
// Model families: what differs between the Hugging Face architectures elab runs, one file
// each (src/model/families/<name>.cpp) listed by one line in model_families(). A family
// says how its config.json reads into a ModelConfig (the transformer is one module whose
// switches a family sets: norm kind, gated MLP, biases, q/k norms, sandwich norms, sliding
// windows, parallel blocks), how its tensors are named (converted to elab's Llama names
// on loading and back on saving, so a fine-tune is written in its family's own layout),
// and how llama.cpp writes it in GGUF. Adapters (LoRA, prefixes) work on elab's module
// names, so a family that loads is fine-tuned like any other.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "model/config.h"

namespace elab {

struct ConfigReader;
class GgufFile;

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct ModelFamily {
  std::string name;    // config.json's model_type
  std::string models;  // the published models it covers, for listings
  // The architecture's switches and Hugging Face's defaults, before config.json's keys
  // are read (which may then change them). Unset: Llama's (ModelConfig's own).
  std::function<void(ModelConfig&)> defaults;
  // The family's own keys, read after the sizes, the norm epsilon, tying, rope_theta and
  // attention_bias, before the RoPE blocks and layer_types (sliding windows, biases that
  // do not follow attention_bias, keys refused because elab does not implement them).
  // Unset: none.
  std::function<void(const ConfigReader&, ModelConfig&)> read;
  std::string activation_key = "hidden_act";  // the config.json key naming the MLP's activation
  // Tensors: the checkpoint's names and layout to elab's, and back. Unset: Llama's names.
  std::function<NamedTensors(const ModelConfig&, NamedTensors, const std::string& where)> from_checkpoint;
  std::function<NamedTensors(const ModelConfig&, NamedTensors)> to_checkpoint;
  // GGUF: the general.architecture llama.cpp writes ("" when elab does not read it from
  // GGUF), the metadata only this family has (read after the common keys), whether the
  // converter permuted q and k rows for its RoPE, and the per-layer tensor names that
  // differ from Llama's (elab's module name -> llama.cpp's).
  std::string gguf_architecture;
  std::function<void(const GgufFile&, ModelConfig&)> gguf_read;
  bool gguf_permutes_rope = false;
  std::vector<std::pair<std::string, std::string>> gguf_layer_names;
};

// Every family, built-in ones first (the table in model/families.cpp).
const std::vector<ModelFamily>& model_families();
// Adds one at run time (a test's dummy family); a name taken already is an Error.
void register_family(ModelFamily family);
// The family of a config.json model_type; unknown: an Error naming `where` and the valid ones.
const ModelFamily& find_family(const std::string& name, const std::string& where);
// The family a GGUF general.architecture is read as; unknown: an Error likewise.
const ModelFamily& find_gguf_family(const std::string& architecture, const std::string& where);

// Renames by prefix: `from` at the start of `name` becomes `to`; whether it matched.
bool swap_prefix(std::string& name, const std::string& from, const std::string& to);

}  // namespace elab
