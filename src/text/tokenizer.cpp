#include "text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/error.h"
#include "text/hf_tokenizer.h"

namespace elab {

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (unsigned char c : text) ids.push_back(int32_t(c));
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (int32_t id : ids)
    if (id >= 0 && id < 256) out.push_back(char(id));
  return out;
}

std::string ByteTokenizer::token_text(int32_t id) const {
  switch (id) {
    case kBos: return "<bos>";
    case kEos: return "<eos>";
    case kPad: return "<pad>";
    case kSep: return "<sep>";
  }
  check(id >= 0 && id < 256, "token id {} is outside the byte vocabulary", id);
  return std::string(1, char(id));
}

std::string ByteTokenizer::to_json() const {
  nlohmann::json j;
  j["version"] = "1.0";
  j["model"] = {{"type", "elab-bytes"}, {"byte_ids", "0-255"}};
  j["added_tokens"] = nlohmann::json::array();
  for (int id : {kBos, kEos, kPad, kSep})
    j["added_tokens"].push_back({{"id", id}, {"content", token_text(id)}, {"special", true}});
  j["vocab_size"] = kVocabSize;
  return j.dump(2) + "\n";
}

ByteTokenizer ByteTokenizer::from_json(std::string_view json, const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers too large for a double
    fail("{}: malformed JSON: {}", where, e.what());
  }
  std::string type = j.value("/model/type"_json_pointer, std::string());
  check(type == "elab-bytes", "{}: tokenizer type '{}' is not supported (this build reads 'elab-bytes')", where, type);
  check(j.value("vocab_size", 0) == kVocabSize, "{}: vocab_size {} does not match the byte tokenizer's {}", where,
        j.value("vocab_size", 0), kVocabSize);
  return ByteTokenizer();
}

Tokenizer::Tokenizer(BpeSpec spec, std::string tokenizer_json)
    : bpe_(std::make_shared<const Bpe>(std::move(spec))), tokenizer_json_(std::move(tokenizer_json)) {}

int Tokenizer::vocab_size() const { return bpe_ ? bpe_->vocab_size() : ByteTokenizer::kVocabSize; }

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  return bpe_ ? bpe_->encode(text) : ByteTokenizer().encode(text);
}

std::vector<int32_t> Tokenizer::encode_prompt(std::string_view text) const {
  std::vector<int32_t> ids;
  if (!bpe_) ids.push_back(ByteTokenizer::kBos);
  else if (bpe_->spec().add_bos && bpe_->spec().bos >= 0) ids.push_back(bpe_->spec().bos);
  auto body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  return bpe_ ? bpe_->decode(ids) : ByteTokenizer().decode(ids);
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  if (bpe_) return bpe_->token_bytes(id);
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t(ByteTokenizer::kVocabSize);
    for (int b = 0; b < 256; ++b) t[size_t(b)] = std::string(1, char(b));
    return t;  // specials add nothing
  }();
  check(id >= 0 && id < ByteTokenizer::kVocabSize, "token id {} is outside the byte vocabulary", id);
  return table[size_t(id)];
}

bool Tokenizer::ends_generation(int32_t id) const {
  if (!bpe_) return id == ByteTokenizer::kEos;
  const auto& s = bpe_->spec();
  return id == s.eos || std::find(s.stop_ids.begin(), s.stop_ids.end(), id) != s.stop_ids.end();
}

// A pretrained model may produce any token (llama.cpp and transformers forbid none);
// models trained here never saw BOS, PAD or SEP as a next token.
bool Tokenizer::never_generated(int32_t id) const {
  return !bpe_ && (id == ByteTokenizer::kPad || id == ByteTokenizer::kBos || id == ByteTokenizer::kSep);
}

int32_t Tokenizer::padding_id() const {
  if (!bpe_) return ByteTokenizer::kPad;
  const auto& s = bpe_->spec();
  return s.pad >= 0 ? s.pad : s.eos >= 0 ? s.eos : 0;
}

std::string Tokenizer::to_json() const {
  if (!bpe_) return ByteTokenizer().to_json();
  return tokenizer_json_.empty() ? hf_tokenizer_json(bpe_->spec()) : tokenizer_json_;
}

std::string Tokenizer::config_json() const { return bpe_ ? hf_tokenizer_config_json(bpe_->spec()) : ""; }

}  // namespace elab
