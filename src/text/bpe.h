#pragma once
// Byte-pair encoding as Hugging Face `tokenizers` runs it, for pretrained models:
//   1. added tokens are cut out of the text first (longest match, with their lstrip /
//      rstrip whitespace), and never split further;
//   2. the rest is normalised (SentencePiece's "▁" for spaces), then pre-tokenised by a
//      sequence of splits (regular expressions with Unicode classes, digits);
//   3. each piece is mapped into the model's alphabet (GPT-2's byte-to-character table
//      for byte-level models; UTF-8 characters, with byte fallback, for SentencePiece
//      ones) and merged pair by pair, the lowest-ranked pair first, leftmost on ties.
// A BpeSpec is the whole description, read from tokenizer.json (text/hf_tokenizer.h) or
// from a GGUF file's metadata (model/gguf_model.h).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace elab {

enum class SplitBehavior { isolated, removed, merged_with_previous, merged_with_next, contiguous };

// One pre-tokenisation step: a regular expression (PCRE2 with Unicode classes, the
// syntax tokenizer.json and llama.cpp use) and what to do with its matches.
struct SplitStep {
  std::string pattern;
  SplitBehavior behavior = SplitBehavior::isolated;
  bool invert = false;  // split on what does not match
};

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false, rstrip = false, single_word = false;
};

struct BpeSpec {
  enum class Alphabet { byte_level, sentencepiece };
  Alphabet alphabet = Alphabet::byte_level;
  std::vector<std::string> vocab;                                 // id -> token, in the alphabet
  std::vector<std::pair<std::string, std::string>> merges;        // in rank order
  std::vector<AddedToken> added;
  std::vector<SplitStep> pre_tokenizer;
  bool byte_level_prefix_space = false;  // ByteLevel add_prefix_space
  bool nfc = false;  // Unicode NFC first (Qwen2)
  // SentencePiece normalisation: spaces become "▁", and one is prepended to the text.
  bool replace_spaces = false, prepend_space = false;
  bool strip_leading_space_on_decode = false;  // the Strip decoder of Llama 2
  bool byte_fallback = false, ignore_merges = false, fuse_unk = false;
  int32_t unk = -1, bos = -1, eos = -1, pad = -1;
  bool add_bos = false, add_eos = false;
  std::vector<int32_t> stop_ids;  // ids that end a generation (eos and the chat turn's end)
  std::string chat_template;
  std::string gguf_pre;  // llama.cpp's pre-tokenizer name, when read from a GGUF file
};

// tokenizers' ByteLevel regex (GPT-2's, with the whitespace tail it adds), and the
// digit split of the Digits pre-tokenizer (Rust's char::is_numeric: Unicode's N);
// tokenizer.json readers and GGUF pre-tokenizer names share them.
extern const char* const kGpt2SplitPattern;
extern const char* const kDigitSplitPattern;

// GPT-2's byte-to-character table: the vocabulary spelling of byte b in byte-level BPE.
const std::string& byte_level_char(uint8_t b);

class Bpe {
 public:
  explicit Bpe(BpeSpec spec);  // Error on an inconsistent spec (a merge of unknown tokens, a bad regex)
  ~Bpe();
  Bpe(const Bpe&) = delete;
  Bpe& operator=(const Bpe&) = delete;

  std::vector<int32_t> encode(std::string_view text) const;  // no BOS/EOS
  // The bytes a token stands for in decoded text ("▁" is a space; byte-fallback tokens
  // their byte; added tokens their content).
  const std::string& token_bytes(int32_t id) const;
  std::string decode(const std::vector<int32_t>& ids) const;
  const BpeSpec& spec() const { return spec_; }
  int vocab_size() const { return int(spec_.vocab.size()); }

 private:
  struct Impl;
  BpeSpec spec_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace elab
