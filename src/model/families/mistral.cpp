// Mistral: Llama with a sliding window over the keys in every layer.
#include "model/config_reader.h"
#include "model/family.h"

namespace elab {

// Every layer sees `sliding_window` keys back, itself included (also Phi-3's key).
void read_sliding_window(const ConfigReader& r, ModelConfig& c) {
  r.integer("sliding_window", c.sliding_window, false, 1 << 24);
}

ModelFamily mistral_family() {
  ModelFamily f;
  f.name = "mistral";
  f.models = "Mistral 7B";
  f.read = read_sliding_window;
  return f;
}

}  // namespace elab
