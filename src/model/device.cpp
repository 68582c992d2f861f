#include "model/device.h"

#include "core/error.h"

namespace elab {

torch::Device parse_device(const std::string& name, int local_rank) {
  const auto cuda_index = static_cast<c10::DeviceIndex>(std::max(local_rank, 0));
  if (name == "cpu") return torch::kCPU;
  if (name == "auto")
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, cuda_index) : torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    check(torch::cuda::is_available(),
          "--device {}: this libtorch has no CUDA or no GPU is visible; use --device cpu, or build elab "
          "against a CUDA libtorch (see README, 'GPU')",
          name);
    if (name == "cuda" && local_rank >= 0) return torch::Device(torch::kCUDA, cuda_index);
    try {
      return torch::Device(name);
    } catch (const std::exception&) {
      fail("--device {}: not a valid device (expected cpu, cuda, cuda:N or auto)", name);
    }
  }
  fail("--device {}: unknown device (expected cpu, cuda, cuda:N or auto)", name);
}

}  // namespace elab
