#include "eval/method.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/names.h"

namespace elab {

const std::vector<MethodEntry>& method_registry() {
  static const std::vector<MethodEntry> entries = {
      {"direct", "direct", "zero-shot, direct answer"},
      {"icl", "icl:K", "K exemplars in direct format (in-context learning)"},
      {"cot", "cot:K", "K exemplars in chain-of-thought format; the answer is read from the chain"},
  };
  return entries;
}

static std::vector<std::string> split_colon(const std::string& s) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    size_t c = s.find(':', pos);
    parts.push_back(s.substr(pos, c - pos));
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  return parts;
}

static std::string grammar_list() {
  std::vector<std::string> g;
  for (const auto& e : method_registry()) g.push_back(e.grammar);
  return fmt::format("{}", fmt::join(g, ", "));
}

static int parse_count(const std::string& spec, const std::string& what, const std::string& text, int min) {
  int v = 0;
  size_t used = 0;
  try {
    v = std::stoi(text, &used);
  } catch (...) {
    used = 0;
  }
  check(used == text.size() && !text.empty() && v >= min, "method '{}': {} must be an integer >= {}, got '{}' (grammar: {})",
        spec, what, min, text, grammar_list());
  return v;
}

Method parse_method(const std::string& spec) {
  auto parts = split_colon(spec);
  Method m;
  m.spec = spec;
  m.kind = parts[0];
  std::vector<std::string> kinds;
  for (const auto& e : method_registry()) kinds.push_back(e.kind);
  if (std::find(kinds.begin(), kinds.end(), m.kind) == kinds.end()) fail_unknown("method", m.kind, kinds);
  if (m.kind == "direct") {
    check(parts.size() == 1, "method '{}': 'direct' takes no parameters (grammar: {})", spec, grammar_list());
  } else {
    check(parts.size() == 2, "method '{}': expected {}:K (grammar: {})", spec, m.kind, grammar_list());
    m.shots = parse_count(spec, "K", parts[1], m.kind == "icl" ? 0 : 0);
    m.format = m.kind == "cot" ? Format::cot : Format::direct;
  }
  return m;
}

}  // namespace elab
