#include "core/names.h"

#include <stdexcept>

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"

namespace elab {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

void fail_unknown(const std::string& kind, const std::string& name, const std::vector<std::string>& valid) {
  std::string hint;
  size_t best = SIZE_MAX;
  for (const auto& v : valid) {
    size_t d = edit_distance(name, v);
    if (d < best) best = d, hint = v;
  }
  std::string suggestion = (best <= std::max<size_t>(1, name.size() / 3)) ? fmt::format(" (did you mean '{}'?)", hint) : "";
  fail("unknown {} '{}'{}; valid: {}", kind, name, suggestion, fmt::join(valid, ", "));
}

std::optional<int64_t> parse_integer(const std::string& text) {
  size_t used = 0;
  try {
    const int64_t v = std::stoll(text, &used);
    if (used > 0 && used == text.size()) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::optional<double> parse_number(const std::string& text) {
  size_t used = 0;
  try {
    const double v = std::stod(text, &used);
    if (used > 0 && used == text.size()) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace elab
