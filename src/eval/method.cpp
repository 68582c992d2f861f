#include "eval/method.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/names.h"

namespace elab {

const std::vector<MethodEntry>& method_registry() {
  static const std::vector<MethodEntry> entries = {
      {"direct", "direct", "zero-shot, direct answer"},
      {"icl", "icl:K[:random-labels|flipped|no-question]",
       "K exemplars in direct format; the probes give exemplars another exemplar's answer, the wrong yes/no "
       "label, or no question"},
      {"cot", "cot:K", "K exemplars in chain-of-thought format, greedy; the answer is read from the chain"},
      {"sc", "sc:K:N[:T]", "self-consistency: N chains sampled at temperature T (0.7), majority vote"},
      {"complex", "complex:K:N[:M]",
       "complexity-based: the K exemplars with the most steps, N sampled chains, vote among the M (N/2) longest"},
  };
  return entries;
}

static std::vector<std::string> split_colon(const std::string& s) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    size_t c = s.find(':', pos);
    parts.push_back(s.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
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

static double parse_real(const std::string& spec, const std::string& what, const std::string& text) {
  double v = 0;
  size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    used = 0;
  }
  check(used == text.size() && !text.empty() && v > 0, "method '{}': {} must be a positive number, got '{}' (grammar: {})",
        spec, what, text, grammar_list());
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
  auto arity = [&](size_t lo, size_t hi, const char* form) {
    check(parts.size() >= lo && parts.size() <= hi, "method '{}': expected {} (grammar: {})", spec, form, grammar_list());
  };
  if (m.kind == "direct") {
    arity(1, 1, "direct");
  } else if (m.kind == "icl") {
    arity(2, 3, "icl:K[:random-labels|flipped|no-question]");
    m.shots = parse_count(spec, "K", parts[1], 0);
    if (parts.size() == 3) {
      m.probe = parts[2];
      const std::vector<std::string> probes = {"random-labels", "flipped", "no-question"};
      if (std::find(probes.begin(), probes.end(), m.probe) == probes.end()) fail_unknown("ICL probe", m.probe, probes);
      check(m.shots >= 1, "method '{}': a probe needs at least one exemplar", spec);
      check(m.probe != "random-labels" || m.shots >= 2, "method '{}': random labels need K >= 2 exemplars to swap", spec);
    }
  } else if (m.kind == "cot") {
    arity(2, 2, "cot:K");
    m.shots = parse_count(spec, "K", parts[1], 0);
    m.format = Format::cot;
  } else if (m.kind == "sc") {
    arity(3, 4, "sc:K:N[:T]");
    m.shots = parse_count(spec, "K", parts[1], 0);
    m.samples = parse_count(spec, "N", parts[2], 1);
    m.temperature = parts.size() == 4 ? parse_real(spec, "T", parts[3]) : 0.7;
    m.format = Format::cot;
  } else {  // complex
    arity(3, 4, "complex:K:N[:M]");
    m.shots = parse_count(spec, "K", parts[1], 0);
    m.samples = parse_count(spec, "N", parts[2], 1);
    m.vote_top = parts.size() == 4 ? parse_count(spec, "M", parts[3], 1) : std::max(1, m.samples / 2);
    check(m.vote_top <= m.samples, "method '{}': M = {} exceeds N = {}", spec, m.vote_top, m.samples);
    m.temperature = 0.7;
    m.format = Format::cot;
    m.complex_exemplars = true;
  }
  return m;
}

}  // namespace elab
