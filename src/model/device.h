#pragma once
// The one place that turns a --device string into a torch::Device.
#include <torch/torch.h>

#include <string>

namespace elab {

// "cpu", "cuda", "cuda:N" or "auto" (CUDA when this libtorch has it and a GPU is present).
torch::Device parse_device(const std::string& name);

}  // namespace elab
