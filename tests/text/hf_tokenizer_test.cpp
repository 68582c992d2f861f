// Tokenizers of pretrained models against the reference implementations: every id equal
// to Hugging Face `tokenizers` for each family's tokenizer.json, and to llama.cpp for the
// tokenizer stored in the SmolLM2 GGUF file, on GSM8K and BBH texts, non-ASCII text and
// whitespace edge cases (tests/python/tokenizer_fixtures.py writes the expectations).
#include "text/hf_tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../tasks/data_util.h"
#include "core/fs.h"
#include "python_oracle.h"
#include "test_util.h"

namespace elab {
namespace {

using nlohmann::json;
using testing::error_of;

const fs::path& fixtures() {
  static fs::path dir = testing::tokenizer_fixtures(data_root());
  return dir;
}

const std::vector<std::string>& corpus() {
  static std::vector<std::string> texts = json::parse(read_file(fixtures() / "corpus.json")).get<std::vector<std::string>>();
  return texts;
}

class Family : public ::testing::TestWithParam<std::string> {};

TEST_P(Family, EveryIdEqualsHuggingFaceTokenizers) {
  SKIP_WITHOUT_DATA("gsm8k");
  const fs::path dir = fixtures() / GetParam();
  Tokenizer tok = load_hf_tokenizer(dir.string());
  json expected = json::parse(read_file(dir / "expected.json"));
  const auto& texts = corpus();
  ASSERT_EQ(expected["plain"].size(), texts.size());
  int wrong = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto want = expected["plain"][i].get<std::vector<int32_t>>();
    auto got = tok.encode(texts[i]);
    if (got != want && ++wrong <= 3)
      ADD_FAILURE() << "text " << i << " '" << texts[i].substr(0, 60) << "': " << ::testing::PrintToString(got)
                    << " != " << ::testing::PrintToString(want);
    EXPECT_EQ(tok.encode_prompt(texts[i]), expected["special"][i].get<std::vector<int32_t>>()) << "text " << i;
    EXPECT_EQ(tok.decode(want), expected["decoded"][i].get<std::string>()) << "text " << i;
  }
  EXPECT_EQ(wrong, 0) << "of " << texts.size() << " texts";
}

// Written back as tokenizer.json (what a saved fine-tune of a GGUF model carries), each
// family's tokenizer reads back as the same tokenizer: ids with and without BOS, decoding,
// and `tokenizers` itself agrees on the written file.
TEST_P(Family, WrittenTokenizerJsonReadsBackTheSame) {
  SKIP_WITHOUT_DATA("gsm8k");
  const fs::path dir = fixtures() / GetParam();
  Tokenizer tok = load_hf_tokenizer(dir.string());
  testing::TempDir out;
  write_file_atomic(out / "tokenizer.json", hf_tokenizer_json(tok.bpe()->spec()));
  write_file_atomic(out / "tokenizer_config.json", hf_tokenizer_config_json(tok.bpe()->spec()));
  Tokenizer back = load_hf_tokenizer(out.path.string());
  json expected = json::parse(read_file(dir / "expected.json"));
  testing::run_python("tokenizers_encode.py",
                      out.path.string() + " " + (fixtures() / "corpus.json").string() + " " + (out / "ids.json").string());
  json theirs = json::parse(read_file(out / "ids.json"))["ids"];
  const auto& texts = corpus();
  int wrong = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    wrong += back.encode(texts[i]) != expected["plain"][i].get<std::vector<int32_t>>();
    wrong += back.encode_prompt(texts[i]) != expected["special"][i].get<std::vector<int32_t>>();
    wrong += back.decode(tok.encode(texts[i])) != expected["decoded"][i].get<std::string>();
    wrong += theirs[i].get<std::vector<int32_t>>() != expected["plain"][i].get<std::vector<int32_t>>();
  }
  EXPECT_EQ(wrong, 0);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, Family,
                         ::testing::Values("gpt2", "pythia", "smollm", "llama3", "qwen2", "llama2", "gemma", "smollm2"));

TEST(HfTokenizer, SpecialTokensAndStopsComeFromTheConfig) {
  SKIP_WITHOUT_DATA("gsm8k");
  Tokenizer smol = load_hf_tokenizer((fixtures() / "smollm2").string());
  const auto& s = smol.bpe()->spec();
  EXPECT_EQ(smol.vocab_size(), 49152);
  EXPECT_EQ(s.eos, 2);  // <|im_end|>
  EXPECT_FALSE(s.add_bos);
  EXPECT_TRUE(smol.ends_generation(2));
  EXPECT_TRUE(smol.ends_generation(0));  // <|endoftext|> ends a document
  EXPECT_FALSE(smol.ends_generation(100));
  EXPECT_EQ(smol.encode("<|im_start|>"), std::vector<int32_t>{1});
  Tokenizer llama2 = load_hf_tokenizer((fixtures() / "llama2").string());
  EXPECT_TRUE(llama2.bpe()->spec().add_bos);
  EXPECT_EQ(llama2.encode_prompt("hi").front(), llama2.bpe()->spec().bos);
  EXPECT_EQ(llama2.token_bytes(llama2.encode(" x").front()).front(), ' ');
}

TEST(HfTokenizer, UnsupportedComponentsAreErrorsNamingThem) {
  const std::string base = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";
  auto with = [&](const std::string& extra) {
    return error_of([&] { bpe_spec_from_hf(base + extra + "}", "", "t.json"); });
  };
  EXPECT_EQ(with(""), "");
  EXPECT_NE(error_of([] { bpe_spec_from_hf(R"({"model": {"type": "WordPiece", "vocab": {}}})", "", "t.json"); })
                .find("t.json: tokenizer model 'WordPiece' (this build reads BPE) at model.type is not supported"),
            std::string::npos);
  EXPECT_NE(with(R"(, "normalizer": {"type": "Lowercase"})").find("normalizer 'Lowercase' at normalizer"), std::string::npos);
  EXPECT_NE(with(R"(, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}]})")
                .find("pre-tokenizer 'Whitespace' at pre_tokenizer.pretokenizers[0]"), std::string::npos);
  EXPECT_NE(with(R"(, "decoder": {"type": "WordPiece"})").find("decoder 'WordPiece' at decoder"), std::string::npos);
  EXPECT_NE(error_of([] { bpe_spec_from_hf("{nope", "", "t.json"); }).find("t.json: malformed JSON"), std::string::npos);
  EXPECT_NE(error_of([] { bpe_spec_from_hf(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 5}}})", "", "t.json"); })
                .find("not contiguous"), std::string::npos);
  EXPECT_NE(error_of([] {
              Tokenizer(bpe_spec_from_hf(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a q"]}})", "", "t"));
            }).find("merge 0 ('a' 'q') names a token not in the vocabulary"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              Tokenizer(bpe_spec_from_hf(
                  R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(["}, "behavior": "Isolated"}})",
                  "", "t"));
            }).find("pre-tokenizer pattern '(['"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_hf_tokenizer("/nonexistent-dir"); }).find("/nonexistent-dir/tokenizer.json: file is missing"),
            std::string::npos);
}

}  // namespace
}  // namespace elab
