// libFuzzer harness: any bytes as tokenizer.json. Reading must give a tokenizer or throw
// elab::Error; a tokenizer it gives must encode and decode a fixed text without crashing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "text/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    elab::Tokenizer tok(elab::bpe_spec_from_hf(std::string(reinterpret_cast<const char*>(data), size), "", "fuzz.json"));
    auto ids = tok.encode("Hello wörld 123 <s>\n\t  ab");
    (void)tok.decode(ids);
  } catch (const elab::Error&) {
  }
  return 0;
}
