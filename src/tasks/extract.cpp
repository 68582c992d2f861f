#include "tasks/extract.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <regex>

#include "core/error.h"

namespace elab {

Extraction parse_extraction(const std::string& name) {
  if (name == "strict") return Extraction::strict;
  if (name == "lenient") return Extraction::lenient;
  if (name == "flexible") return Extraction::flexible;
  fail("unknown extraction '{}': valid are strict (the task's published rule, the default), lenient and flexible "
       "(lm-evaluation-harness's flexible-extract: the last number or option)", name);
}

const char* extraction_name(Extraction e) {
  return e == Extraction::strict ? "strict" : e == Extraction::lenient ? "lenient" : "flexible";
}

std::string normalize_number(const std::string& text) {
  std::string s;
  for (char c : text)
    if (c != ',' && c != '$' && !std::isspace(static_cast<unsigned char>(c))) s.push_back(c);
  while (!s.empty() && s.back() == '.') s.pop_back();
  static const std::regex number(R"(^([+-]?)(\d+)(?:\.(\d+))?$)");
  std::smatch m;
  if (!std::regex_match(s, m, number)) return "";
  std::string sign = m[1] == "-" ? "-" : "", integer = m[2], frac = m[3];
  integer.erase(0, std::min(integer.find_first_not_of('0'), integer.size() - 1));
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  std::string out = integer + (frac.empty() ? "" : "." + frac);
  if (out == "0") sign = "";
  return sign + out;
}

// The text after the last answer cue, or npos.
static size_t after_last_cue(const std::string& output) {
  static const std::regex cue(R"((?:[Tt]he answer is|####)\s*:?\s*)");
  size_t from = std::string::npos;
  for (std::sregex_iterator it(output.begin(), output.end(), cue), end; it != end; ++it)
    from = size_t(it->position() + it->length());
  return from;
}

static std::string first_match(const std::string& text, const std::regex& re) {
  std::smatch m;
  return std::regex_search(text, m, re) ? m.str() : "";
}

static std::string last_match(const std::string& text, const std::regex& re) {
  std::string last;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) last = it->str();
  return last;
}

std::string extract_number(const std::string& output) {
  static const std::regex num(R"([+-]?\$?\d[\d,]*(?:\.\d+)?)");
  size_t from = after_last_cue(output);
  if (from != std::string::npos) {
    std::smatch m;
    std::string rest = output.substr(from);
    if (std::regex_search(rest, m, num) && m.position() < 16) return normalize_number(m.str());
  }
  std::string last = last_match(output, num);
  return last.empty() ? "" : normalize_number(last);
}

std::string extract_choice(const std::string& output) {
  static const std::regex choice(R"(\([A-Z]\))");
  size_t from = after_last_cue(output);
  if (from != std::string::npos) {
    std::string rest = output.substr(from);
    std::string c = first_match(rest, choice);
    if (!c.empty()) return c;
    // "The answer is B." without parentheses
    static const std::regex bare(R"(^\s*([A-Z])\b)");
    std::smatch m;
    if (std::regex_search(rest, m, bare)) return "(" + m[1].str() + ")";
  }
  return last_match(output, choice);
}

static std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string extract_boolean(const std::string& output) {
  static const std::regex word(R"(\b(yes|no|true|false|valid|invalid)\b)", std::regex::icase);
  size_t from = after_last_cue(output);
  if (from != std::string::npos) {
    std::string w = first_match(output.substr(from), word);
    if (!w.empty()) return lower(w);
  }
  return lower(last_match(output, word));
}

static std::string collapse_spaces(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string extract_text(const std::string& output) {
  std::string s;
  size_t from = after_last_cue(output);
  if (from != std::string::npos) {
    s = output.substr(from);
    s = s.substr(0, s.find('\n'));
  } else {
    size_t start = output.find_first_not_of(" \t\n");
    if (start == std::string::npos) return "";
    s = output.substr(start);
    s = s.substr(0, s.find('\n'));
  }
  s = collapse_spaces(s);
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::string extract_sequence(const std::string& output) {
  std::string text = extract_text(output);
  static const std::regex num(R"(-?\d+)");
  std::string out;
  for (std::sregex_iterator it(text.begin(), text.end(), num), end; it != end; ++it)
    out += (out.empty() ? "" : " ") + normalize_number(it->str());
  return out;
}

std::string extract_answer_of(AnswerKind kind, const std::string& output) {
  switch (kind) {
    case AnswerKind::number: return extract_number(output);
    case AnswerKind::choice: return extract_choice(output);
    case AnswerKind::boolean: return extract_boolean(output);
    case AnswerKind::text: return extract_text(output);
    case AnswerKind::sequence: return extract_sequence(output);
  }
  return "";
}

std::string extract_flexible(AnswerKind kind, const std::string& output) {
  static const std::regex num(R"([+-]?\$?\d[\d,]*(?:\.\d+)?)");
  static const std::regex choice(R"(\([A-Z]\))");
  if (kind == AnswerKind::number) {
    const std::string last = last_match(output, num);
    return last.empty() ? "" : normalize_number(last);
  }
  if (kind == AnswerKind::choice) return last_match(output, choice);
  return extract_answer_of(kind, output);
}

std::string normalize_answer(AnswerKind kind, const std::string& gold) {
  switch (kind) {
    case AnswerKind::number: return normalize_number(gold);
    case AnswerKind::choice: return extract_choice(gold);
    case AnswerKind::boolean: return lower(collapse_spaces(gold));
    case AnswerKind::text: return extract_text(gold);
    case AnswerKind::sequence: return extract_sequence(gold);
  }
  return gold;
}

static std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  const size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

// Position just after the last "the answer is" / "The answer is", or npos.
static size_t after_last_answer_is(const std::string& output) {
  size_t best = std::string::npos;
  for (const char* cue : {"the answer is", "The answer is"}) {
    const size_t at = output.rfind(cue);
    if (at != std::string::npos && (best == std::string::npos || at + std::strlen(cue) > best)) best = at + std::strlen(cue);
  }
  return best;
}

// The first non-blank line: the whole answer of answer-only prompting.
static std::string first_line(const std::string& output) {
  const size_t a = output.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  return trim(output.substr(a, output.find('\n', a) - a));
}

std::string extract_bbh_strict(const std::string& output) {
  const size_t from = after_last_answer_is(output);
  std::string s = from == std::string::npos ? first_line(output) : output.substr(from);
  s = trim(s.substr(0, s.find('\n')));
  if (!s.empty() && s.back() == '.') s.pop_back();
  return trim(s);
}

std::string extract_gsm8k_strict(const std::string& output) {
  // The last cue decides: a number after an earlier cue does not count when the last has none.
  static const std::regex cue(R"([Tt]he answer is|####)");
  size_t last = std::string::npos;
  for (std::sregex_iterator it(output.begin(), output.end(), cue), end; it != end; ++it)
    last = size_t(it->position() + it->length());
  std::string number;
  if (last == std::string::npos) {
    // Answer-only prompting: the first line is the answer, and must be a number as it is.
    static const std::regex whole(R"(^-?[0-9][0-9.,]*$)");
    number = first_line(output);
    if (!std::regex_match(number, whole)) return "";
  } else {
    static const std::regex number_first(R"(^[ \t]*(-?[0-9][0-9.,]*))");
    std::smatch m;
    const std::string rest = output.substr(last);
    if (!std::regex_search(rest, m, number_first)) return "";
    number = m[1];
  }
  number.erase(std::remove(number.begin(), number.end(), ','), number.end());
  if (!number.empty() && number.back() == '.') number.pop_back();
  return number;
}

std::string gsm8k_gold(const std::string& gold) {
  std::string g = trim(gold);
  g.erase(std::remove(g.begin(), g.end(), ','), g.end());
  return g;
}

}  // namespace elab
