// Replays the fuzzing corpus and every input that once crashed a harness (bench/fuzz.sh
// copies them to fuzz/regressions/) through the readers as the program uses them: each
// must load or be an Error, never a crash.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/fs.h"
#include "model/config.h"
#include "model/gguf.h"
#include "model/safetensors.h"
#include "text/hf_tokenizer.h"

namespace elab {
namespace {

void replay(const std::string& harness, const std::function<void(const std::string&)>& read) {
  int files = 0;
  for (const char* dir : {"corpus", "regressions"}) {
    const fs::path root = fs::path(ELAB_REPO_DIR) / "fuzz" / dir / harness;
    if (!fs::exists(root)) continue;
    for (const auto& entry : fs::directory_iterator(root)) {
      if (!entry.is_regular_file()) continue;
      SCOPED_TRACE(entry.path().string());
      const std::string bytes = read_file(entry.path());
      try {
        read(bytes);
      } catch (const Error&) {
      }
      ++files;
    }
  }
  EXPECT_GT(files, 0) << "no inputs for " << harness;
}

TEST(FuzzRegressions, GgufInputsLoadOrAreErrors) {
  replay("gguf", [](const std::string& b) {
    auto f = GgufFile::parse(b, "input");
    for (const auto& t : f.tensors())
      if (t.elements() <= (1 << 20)) f.dequantized(t);
  });
}

TEST(FuzzRegressions, SafetensorsInputsLoadOrAreErrors) {
  replay("safetensors", [](const std::string& b) { decode_safetensors(b, "input"); });
}

TEST(FuzzRegressions, TokenizerJsonInputsLoadOrAreErrors) {
  replay("tokenizer_json", [](const std::string& b) {
    Tokenizer tok(bpe_spec_from_hf(b, "", "input"));
    tok.decode(tok.encode("Hello wörld 123 <s>\n\t  ab"));
  });
}

TEST(FuzzRegressions, ConfigJsonInputsLoadOrAreErrors) {
  replay("config_json", [](const std::string& b) { ModelConfig::from_hf_json(b, "input").param_count(); });
}

TEST(FuzzRegressions, TextInputsEncode) {
  const std::string path = std::string(ELAB_REPO_DIR) + "/fuzz/corpus/tokenizer_json/smollm.json";
  Tokenizer tok(bpe_spec_from_hf(read_file(path), "", path));
  replay("bpe_text", [&](const std::string& text) {
    std::string back;
    for (int32_t id : tok.encode(text)) back += tok.token_bytes(id);
    EXPECT_EQ(back, text);
  });
}

}  // namespace
}  // namespace elab

namespace elab {
namespace {

// What the config_json harness found: numbers beyond a double and integers beyond an int
// escaped as a library exception (a crash) or wrapped silently.
TEST(FuzzRegressions, HostileConfigNumbersAreErrorsNamingTheKey) {
  const std::string base = R"({"vocab_size": 260, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, )";
  auto error = [&](const std::string& rest) {
    try {
      ModelConfig::from_hf_json(base + rest + "}", "c.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error(R"("hidden_size": 1e505)").find("c.json: malformed JSON"), std::string::npos);
  EXPECT_NE(error(R"("hidden_size": 99999999999999)").find("'hidden_size' = 99999999999999 is out of range"),
            std::string::npos);
  EXPECT_NE(error(R"("hidden_size": 18446744073709551615)").find("out of range"), std::string::npos);
  EXPECT_NE(error(R"("hidden_size": 1048576, "max_position_embeddings": 16)").find("parameters, beyond what elab loads"),
            std::string::npos);
  EXPECT_EQ(error(R"("hidden_size": 32)"), "");
}

}  // namespace
}  // namespace elab
