// libFuzzer harness: any bytes (invalid UTF-8 included) as text for two tokenizers, a
// byte-level one (SmolLM's shape) and a SentencePiece-style one with byte fallback
// (Llama 2's), read from the seed corpus. Encoding must not crash, and decoding the
// byte-level tokens must give back exactly the bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "core/fs.h"
#include "text/hf_tokenizer.h"

static elab::Tokenizer load(const char* name) {
  const std::string path = std::string(ELAB_FUZZ_DIR) + "/corpus/tokenizer_json/" + name;
  return elab::Tokenizer(elab::bpe_spec_from_hf(elab::read_file(path), "", path));
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const elab::Tokenizer byte_level = load("smollm.json"), sentencepiece = load("llama2.json");
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string back;
  for (int32_t id : byte_level.encode(text)) back += byte_level.token_bytes(id);
  if (back != text && text.find("<|") == std::string::npos) {  // added tokens are matched whole, like any text
    std::fprintf(stderr, "byte-level round trip lost bytes\n");
    __builtin_trap();
  }
  (void)sentencepiece.decode(sentencepiece.encode(text));
  return 0;
}
