// libFuzzer harness: any bytes as a .safetensors file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = elab::decode_safetensors(std::string(reinterpret_cast<const char*>(data), size), "fuzz.safetensors");
    for (const auto& [name, t] : f.tensors) (void)t.sum();
  } catch (const elab::Error&) {
  }
  return 0;
}
