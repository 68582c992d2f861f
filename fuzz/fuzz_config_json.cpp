// libFuzzer harness: any bytes as a model's config.json.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto c = elab::ModelConfig::from_hf_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz/config.json");
    (void)c.param_count();
  } catch (const elab::Error&) {
  }
  return 0;
}
