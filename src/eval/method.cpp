#include "eval/method.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

#include "core/error.h"
#include "core/names.h"

namespace elab {

namespace {

std::vector<MethodEntry>& entries() {
  // One line per method.
  static std::vector<MethodEntry> table = {
      direct_method(),
      icl_method(),
      cot_method(),
      self_consistency_method(),
      complexity_method(),
      reverse_method(),
      mc_method(),
  };
  return table;
}

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::string grammar_list() {
  std::vector<std::string> g;
  for (const auto& e : method_registry()) g.push_back(e.grammar);
  return fmt::format("{}", fmt::join(g, ", "));
}

std::vector<std::string> split_colon(const std::string& s) {
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

}  // namespace

const std::vector<MethodEntry>& method_registry() { return entries(); }

void register_method(MethodEntry entry) {
  std::lock_guard lock(registry_mutex());
  for (const auto& e : entries()) check(e.kind != entry.kind, "method {} is registered already", entry.kind);
  entries().push_back(std::move(entry));
}

void MethodArgs::error(const std::string& message) const {
  fail("method '{}': {} (grammar: {}; all methods: {})", spec, message, grammar, grammar_list());
}

void MethodArgs::arity(size_t lo, size_t hi) const {
  if (parts.size() < lo || parts.size() > hi) error("expected " + grammar);
}

int MethodArgs::count(size_t i, const std::string& what, int min) const {
  const auto v = i < parts.size() ? parse_integer(parts[i]) : std::nullopt;
  if (!v || *v < min || *v > 1000000)
    error(fmt::format("{} must be an integer >= {}, got '{}'", what, min, i < parts.size() ? parts[i] : ""));
  return int(*v);
}

Method MethodArgs::shots_in(Format format) const {
  arity(1, 1);
  Method m;
  m.shots = count(0, "K", 0);
  m.format = format;
  return m;
}

double MethodArgs::real(size_t i, const std::string& what) const {
  const auto v = i < parts.size() ? parse_number(parts[i]) : std::nullopt;
  if (!v || !(*v > 0)) error(fmt::format("{} must be a positive number, got '{}'", what, i < parts.size() ? parts[i] : ""));
  return *v;
}

Method parse_method(const std::string& spec) {
  if (spec.rfind("chat:", 0) == 0) {
    check(spec.size() > 5 && spec.rfind("chat:chat", 0) != 0, "method '{}': chat: takes one method after it (chat:icl:8)", spec);
    Method m = parse_method(spec.substr(5));
    m.spec = spec;
    m.chat = true;
    if (!m.unprobed.empty()) m.unprobed = "chat:" + m.unprobed;
    return m;
  }
  auto parts = split_colon(spec);
  const MethodEntry* entry = nullptr;
  std::vector<std::string> kinds;
  for (const auto& e : method_registry()) {
    kinds.push_back(e.kind);
    if (e.kind == parts[0]) entry = &e;
  }
  if (!entry) fail_unknown("method", parts[0], kinds);
  MethodArgs args{spec, entry->grammar, std::vector<std::string>(parts.begin() + 1, parts.end())};
  Method m = entry->parse(args);
  m.spec = spec;
  m.kind = entry->kind;
  return m;
}

}  // namespace elab
