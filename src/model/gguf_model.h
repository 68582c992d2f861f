#pragma once
// A GGUF file as a model of the engine: its architecture metadata as a ModelConfig, its
// tokenizer as a BpeSpec, and its tensors dequantised into the Llama-layout Transformer
// under Hugging Face names (llama.cpp's converter permutes the rows of the query and key
// projections for its RoPE layout; they are permuted back here).
#include <torch/torch.h>

#include "model/checkpoint.h"
#include "model/gguf.h"

namespace elab {

bool is_gguf_path(const fs::path& path);  // a regular file named *.gguf

ModelConfig gguf_model_config(const GgufFile& file);  // Error naming an unsupported architecture or key
BpeSpec gguf_tokenizer_spec(const GgufFile& file);    // Error naming an unsupported tokenizer model or pre-tokenizer
Checkpoint load_gguf_checkpoint(const fs::path& path, const torch::Device& device = torch::kCPU);

}  // namespace elab
