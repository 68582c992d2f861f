#include "text/tokenizer.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

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
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: malformed JSON: {}", where, e.what());
  }
  std::string type = j.value("/model/type"_json_pointer, std::string());
  check(type == "elab-bytes", "{}: tokenizer type '{}' is not supported (this build reads 'elab-bytes')", where, type);
  check(j.value("vocab_size", 0) == kVocabSize, "{}: vocab_size {} does not match the byte tokenizer's {}", where,
        j.value("vocab_size", 0), kVocabSize);
  return ByteTokenizer();
}

}  // namespace elab
