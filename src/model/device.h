#pragma once
// The one place that turns a --device string into a torch::Device.
#include <torch/torch.h>

#include <string>

namespace elab {

// "cpu", "cuda", "cuda:N" or "auto" (CUDA when this libtorch has it and a GPU is present).
// With local_rank >= 0 (a data-parallel rank), a bare "cuda" or "auto" picks GPU local_rank.
torch::Device parse_device(const std::string& name, int local_rank = -1);

}  // namespace elab
