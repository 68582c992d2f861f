#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "text/tokenizer.h"

namespace elab {

TEST(ByteTokenizer, RoundTripsRandomBytes) {
  ByteTokenizer tok;
  Rng rng(1);
  for (int trial = 0; trial < 50; ++trial) {
    std::string s(size_t(rng.uniform_int(0, 300)), '\0');
    for (auto& c : s) c = char(rng.uniform_int(0, 255));
    auto ids = tok.encode(s);
    ASSERT_EQ(ids.size(), s.size());
    for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < 256);
    EXPECT_EQ(tok.decode(ids), s);
  }
}

TEST(ByteTokenizer, RoundTripsUtf8) {
  ByteTokenizer tok;
  const std::string text = "涌现能力 — émergence, Überraschung, 🙂 and ASCII";
  auto ids = tok.encode(text);
  EXPECT_EQ(ids.size(), text.size());  // one token per byte
  EXPECT_EQ(tok.decode(ids), text);
}

TEST(ByteTokenizer, SpecialTokensAreOutsideTheBytesAndDroppedOnDecode) {
  ByteTokenizer tok;
  EXPECT_EQ(tok.vocab_size(), 260);
  std::vector<int32_t> ids = {ByteTokenizer::kBos, 'h', 'i', ByteTokenizer::kSep, '!', ByteTokenizer::kEos,
                              ByteTokenizer::kPad};
  EXPECT_EQ(tok.decode(ids), "hi!");
  EXPECT_EQ(tok.token_text(ByteTokenizer::kBos), "<bos>");
}

TEST(ByteTokenizer, JsonRoundTripAndBadJson) {
  ByteTokenizer tok;
  EXPECT_NO_THROW(ByteTokenizer::from_json(tok.to_json(), "tokenizer.json"));
  EXPECT_THROW(ByteTokenizer::from_json("{not json", "tokenizer.json"), Error);
  EXPECT_THROW(ByteTokenizer::from_json(R"({"model": {"type": "BPE"}, "vocab_size": 260})", "tokenizer.json"), Error);
}

}  // namespace elab
