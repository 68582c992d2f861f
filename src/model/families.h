#pragma once
// Tensor layouts of the Hugging Face families. elab's modules carry Llama's names
// (model/transformer.h), which Mistral, Qwen2, Qwen3 and Gemma 3 share; GPT-NeoX names
// its tensors otherwise and fuses q, k and v per head. These two functions convert a
// checkpoint's tensors to elab's names on loading, and back on saving, so that a
// fine-tuned model is written in its family's own layout.
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "model/config.h"

namespace elab {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Also drops the buffers some checkpoints store beside the weights (RoPE inverse
// frequencies, causal-mask constants) and a tied model's copy of its output layer.
// `where` names the file set in errors (a fused tensor of the wrong size, say).
NamedTensors tensors_from_family(const ModelConfig& config, NamedTensors tensors, const std::string& where);
NamedTensors tensors_to_family(const ModelConfig& config, NamedTensors tensors);

}  // namespace elab
