#pragma once
// The safetensors format (8-byte little-endian header length, JSON header, raw data):
// the weight format of Hugging Face checkpoints.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace elab {

struct TensorFile {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // CPU, contiguous, in file order
  std::map<std::string, std::string> metadata;                 // "__metadata__"
  const torch::Tensor* find(const std::string& name) const;
};

// Serialises to bytes (tensors are copied to the CPU); write with write_file_atomic.
std::string encode_safetensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata = {});
// Parses and validates; every problem is an Error naming `where` (usually the path).
TensorFile decode_safetensors(const std::string& bytes, const std::string& where);
TensorFile read_safetensors(const std::string& path);

std::string shape_string(torch::IntArrayRef sizes);  // "[2, 3]"

}  // namespace elab
