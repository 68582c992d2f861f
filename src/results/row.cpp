#include "results/row.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>

namespace elab {

static double sample_mean(const std::vector<double>& xs) {
  double s = 0;
  for (double x : xs) s += x;
  return xs.empty() ? NAN : s / double(xs.size());
}

// The standard error of a mean of `xs` (sample standard deviation / sqrt(n)).
static double mean_se(const std::vector<double>& xs) {
  if (xs.size() < 2) return NAN;
  const double m = sample_mean(xs);
  double ss = 0;
  for (double x : xs) ss += (x - m) * (x - m);
  return std::sqrt(ss / double(xs.size() - 1) / double(xs.size()));
}

double ResultRow::standard_error() const {
  if (std::isfinite(stderr_)) return stderr_;
  if (items.size() >= 2) return mean_se(items);
  // A proportion scored on n items: the binomial standard error, Agresti-Coull's (two
  // successes and two failures added) so that 0 of n or n of n still has an error.
  if (n > 0 && std::isfinite(value) && value >= 0 && value <= 1 && metric.direction > 0) {
    const double p = (value * double(n) + 2) / (double(n) + 4);
    return std::sqrt(p * (1 - p) / (double(n) + 4));
  }
  return NAN;
}

std::pair<double, double> ResultRow::ci95() const {
  const double se = standard_error();
  if (!std::isfinite(se)) return {value, value};
  return {value - 1.96 * se, value + 1.96 * se};
}

std::string ResultRow::key() const {
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}", model.name, model.step, task, method.shots, method.style,
                     method.format, metric.name, seed, model.variant);
}

RowDifference difference(const ResultRow& a, const ResultRow& b) {
  RowDifference d;
  d.diff = a.value - b.value;
  if (!a.items.empty() && a.items.size() == b.items.size()) {
    std::vector<double> diffs(a.items.size());
    for (size_t i = 0; i < diffs.size(); ++i) diffs[i] = a.items[i] - b.items[i];
    const double se = mean_se(diffs);
    d.paired = true;
    d.diff = sample_mean(diffs);
    d.lo = d.diff - 1.96 * se, d.hi = d.diff + 1.96 * se;
    return d;
  }
  const double sa = a.standard_error(), sb = b.standard_error();
  if (!std::isfinite(sa) || !std::isfinite(sb)) return d;  // lo, hi NAN: not resolved
  const double se = std::sqrt(sa * sa + sb * sb);
  d.lo = d.diff - 1.96 * se, d.hi = d.diff + 1.96 * se;
  return d;
}

static std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string variant_from_name(const std::string& name) {
  const std::string n = lower(name);
  for (const char* m : {"instruct", "-chat", "_chat", "alpaca", "flan", "text-davinci", "-it", "-sft", "-dpo"})
    if (n.find(m) != std::string::npos) return "instruct";
  for (const char* m : {"code", "coder", "starcoder"})
    if (n.find(m) != std::string::npos) return "code";
  return "base";
}

double parse_size(const std::string& text) {
  static const std::regex re(R"(^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMbBtT]?)\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return NAN;
  double x = std::stod(m[1].str());
  switch (std::tolower(static_cast<unsigned char>(m[2].str().empty() ? ' ' : m[2].str()[0]))) {
    case 'k': return x * 1e3;
    case 'm': return x * 1e6;
    case 'b': return x * 1e9;
    case 't': return x * 1e12;
    default: return x;
  }
}

// A size token inside a name: "-1.4b", "_70m", "7B" between separators; "8x7B" is left alone.
static const std::regex& size_token() {
  static const std::regex re(R"((^|[-_/ ])([0-9]+(?:\.[0-9]+)?[mMbBkK])(?=$|[-_. ]))");
  return re;
}

double parameters_from_name(const std::string& name) {
  std::smatch m;
  if (!std::regex_search(name, m, size_token())) return NAN;
  return parse_size(m[2].str());
}

std::string family_from_name(const std::string& name) {
  std::string n = name.substr(name.find('/') == std::string::npos ? 0 : name.find('/') + 1);
  std::string out = std::regex_replace(n, size_token(), "$1", std::regex_constants::format_first_only);
  // "pythia--deduped" -> "pythia-deduped"; trailing separators go.
  out = std::regex_replace(out, std::regex("([-_])[-_]+"), "$1");
  while (!out.empty() && (out.back() == '-' || out.back() == '_')) out.pop_back();
  return out.empty() ? n : out;
}

}  // namespace elab
