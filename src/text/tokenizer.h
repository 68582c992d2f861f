#pragma once
// Byte-level tokenizer for models trained here: ids 0..255 are the bytes themselves, so
// any byte string (UTF-8 or not) round-trips exactly; four special ids follow.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace elab {

class ByteTokenizer {
 public:
  static constexpr int kBos = 256;  // start of a document
  static constexpr int kEos = 257;  // end of a document
  static constexpr int kPad = 258;  // padding in batches; never attended to
  static constexpr int kSep = 259;  // separator, free for formats that want one
  static constexpr int kVocabSize = 260;

  std::vector<int32_t> encode(std::string_view text) const;
  // Special tokens are dropped: decode(encode(s)) == s for every byte string s.
  std::string decode(const std::vector<int32_t>& ids) const;
  std::string token_text(int32_t id) const;  // "<bos>" etc. for specials, raw byte otherwise
  int vocab_size() const { return kVocabSize; }

  // tokenizer.json of a checkpoint (a small, self-describing JSON).
  std::string to_json() const;
  static ByteTokenizer from_json(std::string_view json, const std::string& where);
};

}  // namespace elab
