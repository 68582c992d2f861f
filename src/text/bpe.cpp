#include "text/bpe.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <unordered_map>

#include "core/error.h"

namespace elab {

namespace {

const std::string kSpaceMarker = "\xE2\x96\x81";  // "▁", SentencePiece's visible space

size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;  // a stray continuation or invalid byte: one byte on its own
}

std::string utf8_encode(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else if (cp < 0x800) {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  } else {
    s += char(0xE0 | (cp >> 12));
    s += char(0x80 | ((cp >> 6) & 0x3F));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

}  // namespace

// GPT-2's table: printable bytes stand for themselves, the others for U+0100 onwards, so
// that every byte is one visible character of the vocabulary.
static const std::vector<std::string>& byte_chars() {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t(256);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = utf8_encode(printable ? b : next++);
    }
    return t;
  }();
  return table;
}

const std::string& byte_level_char(uint8_t b) { return byte_chars()[b]; }

const char* const kGpt2SplitPattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kDigitSplitPattern = R"(\p{N})";

namespace {

std::string nfc(const std::string& text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
  check(U_SUCCESS(status), "tokenizer: ICU's NFC normaliser is unavailable ({})", u_errorName(status));
  icu::UnicodeString out = n->normalize(icu::UnicodeString::fromUTF8(text), status);
  check(U_SUCCESS(status), "tokenizer: NFC normalisation failed ({})", u_errorName(status));
  std::string utf8;
  out.toUTF8String(utf8);
  return utf8;
}

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

struct Regex {
  pcre2_code* code = nullptr;
  pcre2_match_data* match = nullptr;  // per call, see split_regex: matching is not shared between threads
  explicit Regex(const std::string& pattern) {
    int err = 0;
    PCRE2_SIZE offset = 0;
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                         PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &offset, nullptr);
    if (!code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      fail("pre-tokenizer pattern '{}': {} at character {}", pattern, reinterpret_cast<const char*>(msg), offset);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // a failure leaves the interpreter, which gives the same matches
  }
  ~Regex() { pcre2_code_free(code); }
  Regex(const Regex&) = delete;
};

// The [begin, end) spans of `piece` that `re` matches, empty matches skipped.
std::vector<std::pair<size_t, size_t>> regex_matches(const Regex& re, std::string_view piece) {
  std::vector<std::pair<size_t, size_t>> out;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(re.code, nullptr);
  size_t pos = 0;
  while (pos < piece.size()) {
    int rc = pcre2_match(re.code, reinterpret_cast<PCRE2_SPTR>(piece.data()), piece.size(), pos, 0, md, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t b = ov[0], e = ov[1];
    if (e == b) {  // an empty match: step one character and look again
      pos = b + utf8_length(static_cast<unsigned char>(piece[b]));
      continue;
    }
    out.emplace_back(b, e);
    pos = e;
  }
  pcre2_match_data_free(md);
  return out;
}

// Splits `piece` around the spans it matched (tokenizers' SplitDelimiterBehavior).
void split_by(std::string_view piece, std::vector<std::pair<size_t, size_t>> matches, SplitBehavior behavior,
              bool invert, std::vector<std::string>& out) {
  // (span, is_match) covering the whole piece in order
  std::vector<std::pair<std::pair<size_t, size_t>, bool>> parts;
  size_t pos = 0;
  for (auto [b, e] : matches) {
    if (b > pos) parts.push_back({{pos, b}, false});
    parts.push_back({{b, e}, true});
    pos = e;
  }
  if (pos < piece.size()) parts.push_back({{pos, piece.size()}, false});
  if (invert)
    for (auto& p : parts) p.second = !p.second;
  auto text = [&](std::pair<size_t, size_t> s) { return std::string(piece.substr(s.first, s.second - s.first)); };
  std::vector<std::string> pieces;
  switch (behavior) {
    case SplitBehavior::isolated:
      for (auto& p : parts) pieces.push_back(text(p.first));
      break;
    case SplitBehavior::removed:
      for (auto& p : parts)
        if (!p.second) pieces.push_back(text(p.first));
      break;
    case SplitBehavior::merged_with_previous: {
      bool last_was_match = false;
      for (auto& p : parts) {
        if (p.second && !pieces.empty() && !last_was_match) pieces.back() += text(p.first);
        else pieces.push_back(text(p.first));
        last_was_match = p.second;
      }
      break;
    }
    case SplitBehavior::merged_with_next: {
      bool pending = false;  // the last piece is a match waiting for what follows it
      for (auto& p : parts) {
        if (pending && !p.second) pieces.back() += text(p.first);
        else pieces.push_back(text(p.first));
        pending = p.second;
      }
      break;
    }
    case SplitBehavior::contiguous: {
      bool last_was_match = false;
      for (auto& p : parts) {
        if (p.second && last_was_match) pieces.back() += text(p.first);
        else pieces.push_back(text(p.first));
        last_was_match = p.second;
      }
      break;
    }
  }
  for (auto& p : pieces)
    if (!p.empty()) out.push_back(std::move(p));
}

}  // namespace

struct Bpe::Impl {
  std::unordered_map<std::string, int32_t> ids;                           // token -> id
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;       // (left, right) -> (rank, merged)
  std::vector<std::unique_ptr<Regex>> regexes;                            // one per regex step, by step index
  std::vector<std::string> bytes;                                         // id -> decoded bytes
  std::vector<bool> special;
  std::vector<int32_t> byte_ids;                                          // byte -> its token (byte-level or <0xNN>)
  std::vector<const AddedToken*> added_by_length;                         // longest first
  std::vector<bool> is_added;
};

Bpe::Bpe(BpeSpec spec) : spec_(std::move(spec)), impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  const int32_t V = int32_t(spec_.vocab.size());
  check(V > 0, "tokenizer: the vocabulary is empty");
  m.ids.reserve(size_t(V));
  for (int32_t i = 0; i < V; ++i) m.ids.emplace(spec_.vocab[size_t(i)], i);  // a duplicate keeps its first id
  m.is_added.assign(size_t(V), false);
  m.special.assign(size_t(V), false);
  for (const auto& a : spec_.added) {
    check(a.id >= 0 && a.id < V, "tokenizer: added token '{}' has id {}, outside the vocabulary of {}", a.content, a.id, V);
    check(!a.content.empty(), "tokenizer: added token {} is empty", a.id);
    m.is_added[size_t(a.id)] = true;
    m.special[size_t(a.id)] = a.special;
    m.added_by_length.push_back(&a);
  }
  std::stable_sort(m.added_by_length.begin(), m.added_by_length.end(),
                   [](const AddedToken* x, const AddedToken* y) { return x->content.size() > y->content.size(); });
  for (int32_t id : {spec_.unk, spec_.bos, spec_.eos, spec_.pad})
    check(id >= -1 && id < V, "tokenizer: special token id {} is outside the vocabulary of {}", id, V);

  int32_t rank = 0;
  for (const auto& [left, right] : spec_.merges) {
    auto l = m.ids.find(left), r = m.ids.find(right), merged = m.ids.find(left + right);
    check(l != m.ids.end() && r != m.ids.end(), "tokenizer: merge {} ('{}' '{}') names a token not in the vocabulary",
          rank, left, right);
    check(merged != m.ids.end(), "tokenizer: merge {} ('{}' '{}') makes '{}', which is not in the vocabulary", rank,
          left, right, left + right);
    m.merges.try_emplace(uint64_t(uint32_t(l->second)) << 32 | uint32_t(r->second), rank, merged->second);
    ++rank;
  }
  for (const auto& step : spec_.pre_tokenizer)
    m.regexes.push_back(std::make_unique<Regex>(step.pattern));

  // What each token decodes to.
  m.byte_ids.assign(256, -1);
  std::unordered_map<std::string, unsigned char> char_to_byte;
  for (int b = 0; b < 256; ++b) char_to_byte[byte_chars()[size_t(b)]] = (unsigned char)b;
  m.bytes.resize(size_t(V));
  for (int32_t id = 0; id < V; ++id) {
    const std::string& tok = spec_.vocab[size_t(id)];
    std::string& out = m.bytes[size_t(id)];
    if (m.is_added[size_t(id)]) {
      out = tok;
      continue;
    }
    if (spec_.alphabet == BpeSpec::Alphabet::byte_level) {
      for (size_t i = 0; i < tok.size();) {
        size_t n = utf8_length((unsigned char)tok[i]);
        auto it = char_to_byte.find(tok.substr(i, n));
        if (it != char_to_byte.end()) out += char(it->second);
        else out += tok.substr(i, n);  // not a byte-level character: as it is
        i += n;
      }
      if (tok.size() <= 2) {
        auto it = char_to_byte.find(tok);
        if (it != char_to_byte.end()) m.byte_ids[it->second] = id;
      }
      continue;
    }
    // SentencePiece: "<0xNN>" is byte NN when byte fallback is on; "▁" is a space.
    if (spec_.byte_fallback && tok.size() == 6 && tok.rfind("<0x", 0) == 0 && tok[5] == '>') {
      const int b = std::stoi(tok.substr(3, 2), nullptr, 16);
      out = std::string(1, char(b));
      m.byte_ids[size_t(b)] = id;
      continue;
    }
    for (size_t i = 0; i < tok.size();) {
      if (tok.compare(i, kSpaceMarker.size(), kSpaceMarker) == 0) {
        out += ' ';
        i += kSpaceMarker.size();
      } else {
        out += tok[i++];
      }
    }
  }
  if (spec_.byte_fallback)
    for (int b = 0; b < 256; ++b)
      check(m.byte_ids[size_t(b)] >= 0, "tokenizer: byte fallback is on but token <0x{:02X}> is missing", b);
}

Bpe::~Bpe() = default;

const std::string& Bpe::token_bytes(int32_t id) const {
  check(id >= 0 && id < vocab_size(), "token id {} is outside the vocabulary of {}", id, vocab_size());
  return impl_->bytes[size_t(id)];
}

std::string Bpe::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size() || impl_->special[size_t(id)]) continue;  // skip_special_tokens
    out += impl_->bytes[size_t(id)];
  }
  if (spec_.strip_leading_space_on_decode && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

namespace {

// The pieces of one stretch of text between added tokens, after normalisation and every
// pre-tokenisation step.
std::vector<std::string> pre_tokenize(const BpeSpec& spec, const std::vector<std::unique_ptr<Regex>>& regexes,
                                      std::string text) {
  if (spec.nfc) text = nfc(text);
  if (spec.replace_spaces) {
    std::string replaced;
    for (char c : text) {
      if (c == ' ') replaced += kSpaceMarker;
      else replaced += c;
    }
    text = std::move(replaced);
  }
  if (spec.prepend_space && !text.empty()) text = kSpaceMarker + text;
  std::vector<std::string> pieces{std::move(text)};
  for (size_t s = 0; s < spec.pre_tokenizer.size(); ++s) {
    const SplitStep& step = spec.pre_tokenizer[s];
    std::vector<std::string> next;
    for (const auto& piece : pieces) {
      split_by(piece, regex_matches(*regexes[s], piece), step.behavior, step.invert, next);
    }
    pieces = std::move(next);
  }
  if (spec.byte_level_prefix_space)
    for (auto& p : pieces)
      if (!p.empty() && p[0] != ' ') p = " " + p;
  return pieces;
}

}  // namespace

std::vector<int32_t> Bpe::encode(std::string_view text) const {
  const auto& m = *impl_;
  std::vector<int32_t> out;

  // A character the vocabulary lacks becomes the unknown token (runs of them one token
  // with fuse_unk), or, without an unknown token, is dropped: what `tokenizers` does.
  auto add_unknown_or = [&](std::vector<int32_t>& symbols, int32_t id) {
    if (id >= 0) return symbols.push_back(id);
    if (spec_.unk < 0) return;
    if (!(spec_.fuse_unk && !symbols.empty() && symbols.back() == spec_.unk)) symbols.push_back(spec_.unk);
  };
  auto encode_piece = [&](const std::string& piece) {
    std::vector<int32_t> symbols;
    if (spec_.alphabet == BpeSpec::Alphabet::byte_level) {
      std::string mapped;
      for (unsigned char c : piece) mapped += byte_chars()[c];
      if (spec_.ignore_merges) {
        if (auto it = m.ids.find(mapped); it != m.ids.end()) return out.push_back(it->second);
      }
      for (unsigned char c : piece) add_unknown_or(symbols, m.byte_ids[c]);
    } else {
      if (spec_.ignore_merges) {
        if (auto it = m.ids.find(piece); it != m.ids.end()) return out.push_back(it->second);
      }
      for (size_t i = 0; i < piece.size();) {
        const size_t n = std::min(utf8_length((unsigned char)piece[i]), piece.size() - i);
        auto it = m.ids.find(piece.substr(i, n));
        if (it != m.ids.end()) {
          symbols.push_back(it->second);
        } else if (spec_.byte_fallback) {
          for (size_t k = 0; k < n; ++k) symbols.push_back(m.byte_ids[(unsigned char)piece[i + k]]);
        } else {
          add_unknown_or(symbols, -1);
        }
        i += n;
      }
    }
    // Merge the lowest-ranked adjacent pair (leftmost on ties) until none is left.
    while (symbols.size() > 1) {
      int32_t best_rank = INT32_MAX, merged = -1;
      size_t at = 0;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        auto it = m.merges.find(uint64_t(uint32_t(symbols[i])) << 32 | uint32_t(symbols[i + 1]));
        if (it != m.merges.end() && it->second.first < best_rank) {
          best_rank = it->second.first;
          merged = it->second.second;
          at = i;
        }
      }
      if (merged < 0) break;
      symbols[at] = merged;
      symbols.erase(symbols.begin() + long(at) + 1);
    }
    out.insert(out.end(), symbols.begin(), symbols.end());
  };

  auto encode_stretch = [&](std::string_view stretch) {
    if (stretch.empty()) return;
    for (const auto& piece : pre_tokenize(spec_, m.regexes, std::string(stretch))) encode_piece(piece);
  };

  // Added tokens first: at each position the longest one that matches.
  size_t start = 0, pos = 0;
  while (pos < text.size()) {
    const AddedToken* hit = nullptr;
    for (const AddedToken* a : m.added_by_length) {
      if (text.compare(pos, a->content.size(), a->content) != 0) continue;
      if (a->single_word) {
        auto word = [](char c) { return std::isalnum((unsigned char)c) || c == '_'; };
        const size_t end = pos + a->content.size();
        if ((pos > 0 && word(text[pos - 1])) || (end < text.size() && word(text[end]))) continue;
      }
      hit = a;
      break;
    }
    if (!hit) {
      ++pos;
      continue;
    }
    size_t before = pos, after = pos + hit->content.size();
    if (hit->lstrip)
      while (before > start && is_space((unsigned char)text[before - 1])) --before;
    if (hit->rstrip)
      while (after < text.size() && is_space((unsigned char)text[after])) ++after;
    encode_stretch(text.substr(start, before - start));
    out.push_back(hit->id);
    start = pos = after;
  }
  encode_stretch(text.substr(start));
  return out;
}

}  // namespace elab
