#pragma once
// Tensor layouts of the model families (model/family.h). elab's modules carry Llama's
// names (model/transformer.h); a family that names its tensors otherwise (GPT-NeoX, Phi-3)
// converts them on loading and back on saving, so that a fine-tuned model is written in
// its family's own layout.
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "model/config.h"
#include "model/family.h"

namespace elab {

// Also drops the buffers some checkpoints store beside the weights (RoPE inverse
// frequencies, causal-mask constants) and a tied model's copy of its output layer.
// `where` names the file set in errors (a fused tensor of the wrong size, say).
NamedTensors tensors_from_family(const ModelConfig& config, NamedTensors tensors, const std::string& where);
NamedTensors tensors_to_family(const ModelConfig& config, NamedTensors tensors);

}  // namespace elab
