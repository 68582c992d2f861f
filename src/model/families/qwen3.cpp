// Qwen3: Llama with an RMSNorm over each head's queries and keys before RoPE, and a
// head dimension that need not be hidden_size / heads.
#include "model/config_reader.h"
#include "model/family.h"

namespace elab {

void refuse_qwen_sliding_window(const ConfigReader& r, const ModelConfig& c);  // qwen2.cpp

ModelFamily qwen3_family() {
  ModelFamily f;
  f.name = "qwen3";
  f.models = "Qwen3";
  f.defaults = [](ModelConfig& c) { c.qk_norm = true; };
  f.read = [](const ConfigReader& r, ModelConfig& c) { refuse_qwen_sliding_window(r, c); };
  return f;
}

}  // namespace elab
