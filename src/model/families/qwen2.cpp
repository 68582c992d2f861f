// Qwen2 and Qwen2.5: Llama with biases on the q, k and v projections (never on the
// output projection, whatever attention_bias says).
#include "model/config_reader.h"
#include "model/family.h"

namespace elab {

// Qwen's sliding windows apply from max_window_layers on, a rule elab does not implement.
void refuse_qwen_sliding_window(const ConfigReader& r, const ModelConfig& c) {
  bool slides = false;
  r.boolean("use_sliding_window", slides);
  check(!slides, "{}: 'use_sliding_window' = true is not supported for {} (its max_window_layers rule)", r.where,
        c.family);
}

ModelFamily qwen2_family() {
  ModelFamily f;
  f.name = "qwen2";
  f.models = "Qwen2, Qwen2.5";
  f.read = [](const ConfigReader& r, ModelConfig& c) {
    c.qkv_bias = true;
    c.o_bias = false;
    refuse_qwen_sliding_window(r, c);
  };
  return f;
}

}  // namespace elab
