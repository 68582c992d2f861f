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

// `elab export --gguf`: the model as a GGUF file of architecture 'llama' that llama.cpp
// runs, its matrices stored as `type` (F32, F16 or Q8_0; norms stay F32), q/k rows in
// llama.cpp's RoPE order, and its tokenizer in the metadata: elab's byte tokenizer as a
// byte-level BPE without merges (so every byte is its own id, as in elab), a GGUF-read
// tokenizer as it was. Error for a tokenizer GGUF cannot express or a model with a
// prefix or unmerged LoRA adapter.
std::string encode_checkpoint_gguf(const Checkpoint& ck, GgmlType type);

}  // namespace elab
