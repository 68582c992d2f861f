#include "eval/stats.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/names.h"
#include "core/rng.h"

namespace elab {

double mean(const std::vector<double>& xs) {
  if (xs.empty()) return 0;
  double s = 0;
  for (double x : xs) s += x;
  return s / double(xs.size());
}

static std::pair<double, double> percentiles95(std::vector<double>& values) {
  std::sort(values.begin(), values.end());
  const int64_t n = int64_t(values.size());
  auto at = [&](double q) { return values[size_t(std::clamp<int64_t>(int64_t(std::floor(q * double(n - 1))), 0, n - 1))]; };
  return {at(0.025), at(0.975)};
}

std::pair<double, double> bootstrap_ci95(const std::vector<double>& xs, uint64_t seed, int resamples) {
  if (xs.empty()) return {0, 0};
  Rng rng(derive_seed(seed, "bootstrap"));
  std::vector<double> means(static_cast<size_t>(resamples));
  const int64_t n = int64_t(xs.size());
  for (auto& m : means) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += xs[size_t(rng.uniform_int(0, n - 1))];
    m = s / double(n);
  }
  return percentiles95(means);
}

std::pair<double, double> bootstrap_ci95_clustered(const std::vector<double>& xs, int64_t clusters, uint64_t seed,
                                                   int resamples) {
  if (clusters <= 1 || xs.empty() || int64_t(xs.size()) % clusters != 0) return bootstrap_ci95(xs, seed, resamples);
  // Two levels: the clusters (training seeds) with replacement, then the items of each
  // drawn cluster with replacement, so that seed-to-seed variance widens the interval.
  Rng rng(derive_seed(seed, "bootstrap-clustered"));
  const int64_t per = int64_t(xs.size()) / clusters;
  std::vector<double> means(static_cast<size_t>(resamples));
  for (auto& m : means) {
    double s = 0;
    for (int64_t c = 0; c < clusters; ++c) {
      const int64_t k = rng.uniform_int(0, clusters - 1);
      for (int64_t i = 0; i < per; ++i) s += xs[size_t(k * per + rng.uniform_int(0, per - 1))];
    }
    m = s / double(xs.size());
  }
  return percentiles95(means);
}

PairedDifference paired_bootstrap(const std::vector<double>& a, const std::vector<double>& b, uint64_t seed,
                                  int resamples, int64_t clusters) {
  check(a.size() == b.size(), "paired comparison needs the same examples: {} vs {} items", a.size(), b.size());
  PairedDifference d;
  if (a.empty()) return d;
  std::vector<double> delta(a.size());
  for (size_t i = 0; i < a.size(); ++i) delta[i] = a[i] - b[i];
  d.diff = mean(delta);
  auto [lo, hi] = bootstrap_ci95_clustered(delta, clusters, derive_seed(seed, "paired"), resamples);
  d.lo = lo;
  d.hi = hi;
  return d;
}

double char_accuracy(const std::string& predicted, const std::string& gold) {
  size_t n = std::max(predicted.size(), gold.size());
  if (n == 0) return 1.0;
  size_t same = 0;
  for (size_t i = 0; i < std::min(predicted.size(), gold.size()); ++i) same += predicted[i] == gold[i];
  return double(same) / double(n);
}

double normalized_edit_distance(const std::string& predicted, const std::string& gold) {
  size_t n = std::max(predicted.size(), gold.size());
  return n == 0 ? 0.0 : double(edit_distance(predicted, gold)) / double(n);
}

std::pair<double, double> stratified_macro_ci95(const std::vector<std::vector<double>>& strata, uint64_t seed) {
  check(!strata.empty(), "a macro average needs at least one stratum");
  for (const auto& c : strata) check(!c.empty(), "a stratum of a macro average has no items");
  std::vector<double> draws;
  Rng rng(seed);
  for (int b = 0; b < 1000; ++b) {
    double total = 0;
    for (const auto& c : strata) {
      double hits = 0;
      for (size_t k = 0; k < c.size(); ++k) hits += c[size_t(rng.uniform_int(0, int64_t(c.size()) - 1))];
      total += hits / double(c.size());
    }
    draws.push_back(total / double(strata.size()));
  }
  std::sort(draws.begin(), draws.end());
  return {draws[25], draws[974]};
}

}  // namespace elab
