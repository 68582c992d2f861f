// libFuzzer harness: any bytes as a GGUF file. The reader must return a model or throw
// elab::Error; dequantising every tensor it accepted must stay inside the buffer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "model/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = elab::GgufFile::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz.gguf");
    for (const auto& t : f.tensors())
      if (t.elements() <= (1 << 20)) f.dequantized(t);
    for (const auto& [key, v] : f.metadata()) if (v.type == elab::GgufValueType::string) (void)f.string_or(key, "");
  } catch (const elab::Error&) {
  }
  return 0;
}
