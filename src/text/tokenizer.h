#pragma once
// Tokenizers. `ByteTokenizer` is the one of models trained here: ids 0..255 are the bytes
// themselves, so any byte string (UTF-8 or not) round-trips exactly; four special ids
// follow. `Tokenizer` is what the engine uses: that byte tokenizer, or a pretrained
// model's BPE (text/bpe.h) read from tokenizer.json or a GGUF file.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/bpe.h"

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

class Tokenizer {
 public:
  Tokenizer() = default;  // the byte tokenizer
  // A pretrained model's BPE; `tokenizer_json` is kept to be written back unchanged
  // when a fine-tuned copy of the model is saved (empty: from a GGUF file).
  explicit Tokenizer(BpeSpec spec, std::string tokenizer_json = "");

  bool is_bytes() const { return !bpe_; }
  const Bpe* bpe() const { return bpe_.get(); }
  int vocab_size() const;

  std::vector<int32_t> encode(std::string_view text) const;         // the text alone
  std::vector<int32_t> encode_prompt(std::string_view text) const;  // with BOS where the model takes one
  std::string decode(const std::vector<int32_t>& ids) const;        // special tokens dropped
  const std::string& token_bytes(int32_t id) const;                 // what the token adds to a text
  bool ends_generation(int32_t id) const;                           // EOS, or a chat turn's end
  bool never_generated(int32_t id) const;                           // BOS, PAD, SEP of the byte tokenizer
  int32_t padding_id() const;  // fills left-padded rows (masked, so any valid id works)
  // tokenizer.json as read (or, for a GGUF tokenizer, written from its spec), and
  // tokenizer_config.json ("" for the byte tokenizer, which needs none).
  std::string to_json() const;
  std::string config_json() const;

 private:
  std::shared_ptr<const Bpe> bpe_;
  std::string tokenizer_json_;
};

}  // namespace elab
