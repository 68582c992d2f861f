// Llama 2 and 3, SmolLM and SmolLM2, and elab's own models: the names and switches every
// other family is described against (RMSNorm, SwiGLU, no biases, untied by default).
#include "model/family.h"

namespace elab {

ModelFamily llama_family() {
  ModelFamily f;
  f.name = "llama";
  f.models = "Llama 2/3, SmolLM, SmolLM2, Mistral in GGUF";
  // llama.cpp's converter writes Mistral and SmolLM as 'llama' too, with q and k rows
  // permuted for its RoPE layout.
  f.gguf_architecture = "llama";
  f.gguf_permutes_rope = true;
  return f;
}

}  // namespace elab
