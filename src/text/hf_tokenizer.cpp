#include "text/hf_tokenizer.h"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"

namespace elab {

using json = nlohmann::json;

bool is_end_of_turn_text(const std::string& c) {
  for (const char* end : {"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|endoftext|>", "<end_of_turn>", "<|end|>", "</s>",
                          "<eos>", "<|end_of_text|>"})
    if (c == end) return true;
  return false;
}

namespace {

struct Reader {
  const std::string& where;
  [[noreturn]] void unsupported(const std::string& path, const std::string& what) const {
    fail("{}: {} at {} is not supported", where, what, path);
  }
  std::string str(const json& j, const char* key, const std::string& path) const {
    if (!j.contains(key) || j[key].is_null()) return "";
    if (!j[key].is_string()) fail("{}: {}.{} should be a string", where, path, key);
    return j[key].get<std::string>();
  }
  bool flag(const json& j, const char* key, bool fallback) const {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_boolean()) fail("{}: '{}' should be true or false", where, key);
    return j[key].get<bool>();
  }
};

// The regex or string of a Split / Replace pattern ({"Regex": ...} or {"String": ...}).
std::string pattern_of(const Reader& r, const json& p, const std::string& path) {
  if (p.is_object() && p.contains("Regex") && p["Regex"].is_string()) return p["Regex"].get<std::string>();
  if (p.is_object() && p.contains("String") && p["String"].is_string()) {
    std::string quoted;  // a literal string as a regex
    for (char c : p["String"].get<std::string>()) {
      if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) quoted += '\\';
      quoted += c;
    }
    return quoted;
  }
  r.unsupported(path, "a pattern that is neither {\"Regex\": ...} nor {\"String\": ...}");
}

SplitBehavior behavior_of(const Reader& r, const std::string& b, const std::string& path) {
  static const std::map<std::string, SplitBehavior> names = {
      {"Isolated", SplitBehavior::isolated},
      {"Removed", SplitBehavior::removed},
      {"MergedWithPrevious", SplitBehavior::merged_with_previous},
      {"MergedWithNext", SplitBehavior::merged_with_next},
      {"Contiguous", SplitBehavior::contiguous}};
  auto it = names.find(b);
  if (it == names.end()) r.unsupported(path, fmt::format("split behavior '{}'", b));
  return it->second;
}

void read_pre_tokenizer(const Reader& r, const json& p, const std::string& path, BpeSpec& spec) {
  if (p.is_null()) return;
  const std::string type = r.str(p, "type", path);
  if (type == "Sequence") {
    int i = 0;
    for (const auto& step : p.value("pretokenizers", json::array()))
      read_pre_tokenizer(r, step, fmt::format("{}.pretokenizers[{}]", path, i++), spec);
  } else if (type == "ByteLevel") {
    spec.alphabet = BpeSpec::Alphabet::byte_level;
    spec.byte_level_prefix_space = r.flag(p, "add_prefix_space", false);
    if (r.flag(p, "use_regex", true)) spec.pre_tokenizer.push_back({kGpt2SplitPattern});
  } else if (type == "Split") {
    SplitStep step;
    step.pattern = pattern_of(r, p.value("pattern", json()), path + ".pattern");
    step.behavior = behavior_of(r, r.str(p, "behavior", path), path + ".behavior");
    step.invert = r.flag(p, "invert", false);
    spec.pre_tokenizer.push_back(step);
  } else if (type == "Digits") {
    spec.pre_tokenizer.push_back(
        {kDigitSplitPattern, r.flag(p, "individual_digits", false) ? SplitBehavior::isolated : SplitBehavior::contiguous});
  } else if (type == "Metaspace") {
    if (r.str(p, "replacement", path) != "\xE2\x96\x81") r.unsupported(path, "a Metaspace replacement other than '▁'");
    spec.alphabet = BpeSpec::Alphabet::sentencepiece;
    spec.replace_spaces = true;
    const std::string scheme = p.contains("prepend_scheme") ? r.str(p, "prepend_scheme", path)
                                                            : (r.flag(p, "add_prefix_space", true) ? "always" : "never");
    if (scheme == "first") r.unsupported(path, "Metaspace prepend_scheme 'first'");
    spec.prepend_space = scheme == "always";
    if (r.flag(p, "split", true)) spec.pre_tokenizer.push_back({"\xE2\x96\x81", SplitBehavior::merged_with_next});
  } else {
    r.unsupported(path, fmt::format("pre-tokenizer '{}'", type));
  }
}

void read_normalizer(const Reader& r, const json& n, const std::string& path, BpeSpec& spec) {
  if (n.is_null()) return;
  const std::string type = r.str(n, "type", path);
  if (type == "Sequence") {
    int i = 0;
    for (const auto& step : n.value("normalizers", json::array()))
      read_normalizer(r, step, fmt::format("{}.normalizers[{}]", path, i++), spec);
  } else if (type == "Prepend") {
    if (r.str(n, "prepend", path) != "\xE2\x96\x81") r.unsupported(path, "a Prepend of anything but '▁'");
    spec.prepend_space = true;
  } else if (type == "Replace") {
    const auto& pat = n.value("pattern", json());
    if (!(pat.is_object() && pat.value("String", "") == " " && r.str(n, "content", path) == "\xE2\x96\x81"))
      r.unsupported(path, "a Replace other than ' ' -> '▁'");
    spec.replace_spaces = true;
    spec.alphabet = BpeSpec::Alphabet::sentencepiece;
  } else if (type == "NFC") {
    spec.nfc = true;
  } else {
    r.unsupported(path, fmt::format("normalizer '{}'", type));
  }
}

void read_decoder(const Reader& r, const json& d, const std::string& path, BpeSpec& spec) {
  if (d.is_null()) return;
  const std::string type = r.str(d, "type", path);
  if (type == "Sequence") {
    int i = 0;
    for (const auto& step : d.value("decoders", json::array()))
      read_decoder(r, step, fmt::format("{}.decoders[{}]", path, i++), spec);
  } else if (type == "Strip") {
    if (d.value("content", "") != " " || d.value("start", 0) > 1 || d.value("stop", 0) != 0)
      r.unsupported(path, "a Strip decoder other than one leading space");
    spec.strip_leading_space_on_decode = d.value("start", 0) == 1;
  } else if (type == "Metaspace") {
    const std::string scheme = d.contains("prepend_scheme") ? r.str(d, "prepend_scheme", path) : "always";
    spec.strip_leading_space_on_decode = scheme != "never";
  } else if (type != "ByteLevel" && type != "Replace" && type != "ByteFallback" && type != "Fuse") {
    // ByteLevel, Replace('▁' -> ' '), ByteFallback and Fuse are what token_bytes does already.
    r.unsupported(path, fmt::format("decoder '{}'", type));
  }
}

int32_t token_id(const std::map<std::string, int32_t>& ids, const std::string& content) {
  auto it = ids.find(content);
  return it == ids.end() ? -1 : it->second;
}

// "bos_token": "<s>" or {"content": "<s>", ...}
std::string token_content(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return "";
}

}  // namespace

BpeSpec bpe_spec_from_hf(const std::string& tokenizer_json, const std::string& config_json, const std::string& where) {
  Reader r{where};
  json j, cfg = json::object();
  try {
    j = json::parse(tokenizer_json);
    if (!config_json.empty()) cfg = json::parse(config_json);
  } catch (const json::exception& e) {  // parse errors, and numbers too large for a double
    fail("{}: malformed JSON: {}", where, e.what());
  }
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) fail("{}: no \"model\" object", where);
  if (!cfg.is_object()) fail("{}: tokenizer_config.json is not an object", where);
  const json& model = j["model"];
  BpeSpec spec;
  const std::string type = r.str(model, "type", "model");
  if (type != "BPE") r.unsupported("model.type", fmt::format("tokenizer model '{}' (this build reads BPE)", type));
  if (model.contains("dropout") && !model["dropout"].is_null()) r.unsupported("model.dropout", "BPE dropout");
  if (!r.str(model, "continuing_subword_prefix", "model").empty())
    r.unsupported("model.continuing_subword_prefix", "a subword prefix");
  if (!r.str(model, "end_of_word_suffix", "model").empty()) r.unsupported("model.end_of_word_suffix", "a word suffix");
  spec.byte_fallback = r.flag(model, "byte_fallback", false);
  spec.fuse_unk = r.flag(model, "fuse_unk", false);
  spec.ignore_merges = r.flag(model, "ignore_merges", false);
  spec.alphabet = BpeSpec::Alphabet::sentencepiece;  // unless a ByteLevel component says otherwise

  // Vocabulary: the model's, then the added tokens (which may extend it).
  std::map<std::string, int32_t> ids;
  std::map<int32_t, std::string> by_id;
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail("{}: model.vocab is missing or not an object", where);
  for (const auto& [tok, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > 10'000'000)
      fail("{}: model.vocab['{}'] is not a valid id", where, tok);
    by_id[int32_t(id.get<int64_t>())] = tok;
    ids.emplace(tok, int32_t(id.get<int64_t>()));
  }
  int i = 0;
  for (const auto& a : j.value("added_tokens", json::array())) {
    const std::string path = fmt::format("added_tokens[{}]", i++);
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || a["id"].get<int64_t>() < 0 ||
        a["id"].get<int64_t>() > 10'000'000 || !a.contains("content") || !a["content"].is_string())
      fail("{}: {} needs an integer id and a string content", where, path);
    AddedToken t;
    t.id = int32_t(a["id"].get<int64_t>());
    t.content = a["content"].get<std::string>();
    t.special = r.flag(a, "special", false);
    t.lstrip = r.flag(a, "lstrip", false);
    t.rstrip = r.flag(a, "rstrip", false);
    t.single_word = r.flag(a, "single_word", false);
    by_id[t.id] = t.content;
    ids[t.content] = t.id;
    spec.added.push_back(t);
  }
  if (by_id.empty()) fail("{}: the vocabulary is empty", where);
  const int32_t V = by_id.rbegin()->first + 1;
  if (int32_t(by_id.size()) != V)
    fail("{}: token ids are not contiguous ({} tokens, largest id {})", where, by_id.size(), V - 1);
  spec.vocab.reserve(size_t(V));
  for (auto& [id, tok] : by_id) spec.vocab.push_back(tok);

  i = 0;
  for (const auto& m : model.value("merges", json::array())) {
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ', 1);
      if (space == std::string::npos) fail("{}: model.merges[{}] '{}' is not two tokens", where, i, s);
      spec.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      spec.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      fail("{}: model.merges[{}] is neither \"a b\" nor [\"a\", \"b\"]", where, i);
    }
    ++i;
  }
  const std::string unk = r.str(model, "unk_token", "model");
  if (!unk.empty()) spec.unk = token_id(ids, unk);

  read_normalizer(r, j.value("normalizer", json()), "normalizer", spec);
  read_pre_tokenizer(r, j.value("pre_tokenizer", json()), "pre_tokenizer", spec);
  read_decoder(r, j.value("decoder", json()), "decoder", spec);
  if (j.contains("decoder") && j["decoder"].is_object() && j["decoder"].value("type", "") == "ByteLevel")
    spec.alphabet = BpeSpec::Alphabet::byte_level;

  // BOS/EOS as the post-processor adds them (what `tokenizers` does with add_special_tokens).
  const json& post = j.value("post_processor", json());
  auto template_of = [&](const json& p) -> const json* {
    if (p.is_object() && p.value("type", "") == "TemplateProcessing") return &p;
    if (p.is_object() && p.value("type", "") == "Sequence")
      for (const auto& s : p.value("processors", json::array()))
        if (s.is_object() && s.value("type", "") == "TemplateProcessing") return &s;
    return nullptr;
  };
  if (const json* t = template_of(post)) {
    const json& single = t->value("single", json::array());
    auto special_at = [&](size_t k) -> int32_t {
      if (k >= single.size() || !single[k].contains("SpecialToken")) return -1;
      return token_id(ids, single[k]["SpecialToken"].value("id", ""));
    };
    if (!single.empty()) {
      spec.bos = special_at(0);
      spec.add_bos = spec.bos >= 0;
      if (single.size() > 1) {
        const int32_t last = special_at(single.size() - 1);
        if (last >= 0) spec.eos = last, spec.add_eos = true;
      }
    }
  }
  if (cfg.contains("bos_token") && spec.bos < 0) spec.bos = token_id(ids, token_content(cfg["bos_token"]));
  if (cfg.contains("eos_token")) spec.eos = token_id(ids, token_content(cfg["eos_token"]));
  if (cfg.contains("pad_token")) spec.pad = token_id(ids, token_content(cfg["pad_token"]));
  if (cfg.contains("chat_template") && cfg["chat_template"].is_string()) spec.chat_template = cfg["chat_template"];
  for (const auto& a : spec.added)
    if (a.special && is_end_of_turn_text(a.content)) spec.stop_ids.push_back(a.id);
  return spec;
}

Tokenizer load_hf_tokenizer(const std::string& dir) {
  const std::filesystem::path d(dir);
  const auto file = d / "tokenizer.json", config = d / "tokenizer_config.json";
  check(std::filesystem::exists(file), "{}: file is missing", file.string());
  std::string tokenizer_json = read_file(file);
  std::string config_json = std::filesystem::exists(config) ? read_file(config) : "";
  return Tokenizer(bpe_spec_from_hf(tokenizer_json, config_json, file.string()), tokenizer_json);
}

std::string hf_tokenizer_json(const BpeSpec& spec) {
  const bool bytes = spec.alphabet == BpeSpec::Alphabet::byte_level;
  json added = json::array();
  for (const auto& a : spec.added)
    added.push_back({{"id", a.id}, {"content", a.content}, {"single_word", a.single_word}, {"lstrip", a.lstrip},
                     {"rstrip", a.rstrip}, {"normalized", false}, {"special", a.special}});
  json normalizers = json::array();
  if (spec.nfc) normalizers.push_back({{"type", "NFC"}});
  if (spec.prepend_space) normalizers.push_back({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}});
  if (spec.replace_spaces)
    normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}});
  json pre = json::array();
  for (const auto& step : spec.pre_tokenizer) {
    static const char* names[] = {"Isolated", "Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    pre.push_back({{"type", "Split"}, {"pattern", {{"Regex", step.pattern}}}, {"behavior", names[int(step.behavior)]},
                   {"invert", step.invert}});
  }
  if (bytes)
    pre.push_back({{"type", "ByteLevel"}, {"add_prefix_space", spec.byte_level_prefix_space}, {"trim_offsets", false},
                   {"use_regex", false}});
  json decoder;
  if (bytes) {
    decoder = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  } else {
    json steps = json::array();
    steps.push_back({{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}});
    steps.push_back({{"type", "ByteFallback"}});
    steps.push_back({{"type", "Fuse"}});
    decoder = {{"type", "Sequence"}, {"decoders", steps}};
  }
  if (!bytes && spec.strip_leading_space_on_decode)
    decoder["decoders"].push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
  json post = nullptr;
  if (spec.add_bos && spec.bos >= 0) {
    const std::string bos = spec.vocab[size_t(spec.bos)];
    post = {{"type", "TemplateProcessing"},
            {"single", {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"pair", {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                      {{"SpecialToken", {{"id", bos}, {"type_id", 1}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
            {"special_tokens", {{bos, {{"id", bos}, {"ids", {spec.bos}}, {"tokens", {bos}}}}}}};
  }
  json vocab = json::object();
  std::vector<bool> is_added(spec.vocab.size(), false);
  for (const auto& a : spec.added) is_added[size_t(a.id)] = true;
  for (size_t i = 0; i < spec.vocab.size(); ++i) vocab[spec.vocab[i]] = i;
  json merges = json::array();
  for (const auto& [l, r] : spec.merges) merges.push_back({l, r});
  json model = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", spec.unk >= 0 ? json(spec.vocab[size_t(spec.unk)]) : json(nullptr)},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", spec.fuse_unk},
                {"byte_fallback", spec.byte_fallback},
                {"ignore_merges", spec.ignore_merges},
                {"vocab", vocab},
                {"merges", merges}};
  json j = {{"version", "1.0"},
            {"truncation", nullptr},
            {"padding", nullptr},
            {"added_tokens", added},
            {"normalizer", normalizers.empty() ? json(nullptr) : json{{"type", "Sequence"}, {"normalizers", normalizers}}},
            {"pre_tokenizer", pre.empty() ? json(nullptr) : json{{"type", "Sequence"}, {"pretokenizers", pre}}},
            {"post_processor", post},
            {"decoder", decoder},
            {"model", model}};
  return j.dump(1, ' ', false, json::error_handler_t::strict) + "\n";
}

std::string hf_tokenizer_config_json(const BpeSpec& spec) {
  auto token = [&](int32_t id) { return id >= 0 ? json(spec.vocab[size_t(id)]) : json(nullptr); };
  json j = {{"bos_token", token(spec.bos)}, {"eos_token", token(spec.eos)},   {"pad_token", token(spec.pad)},
            {"unk_token", token(spec.unk)}, {"add_bos_token", spec.add_bos}, {"add_eos_token", spec.add_eos},
            {"clean_up_tokenization_spaces", false}, {"tokenizer_class", "PreTrainedTokenizerFast"}};
  if (!spec.chat_template.empty()) j["chat_template"] = spec.chat_template;
  return j.dump(2) + "\n";
}

}  // namespace elab
