// Mistral: Llama with a sliding window over the keys in every layer.
#include "model/config_reader.h"
#include "model/family.h"

namespace elab {

ModelFamily mistral_family() {
  ModelFamily f;
  f.name = "mistral";
  f.models = "Mistral 7B";
  f.defaults = [](ModelConfig&) {};
  f.read = [](const ConfigReader& r, ModelConfig& c) { r.integer("sliding_window", c.sliding_window, false, 1 << 24); };
  return f;
}

}  // namespace elab
