#include "eval/stats.h"

#include <algorithm>
#include <cmath>

#include "core/rng.h"

namespace elab {

double mean(const std::vector<double>& xs) {
  if (xs.empty()) return 0;
  double s = 0;
  for (double x : xs) s += x;
  return s / double(xs.size());
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
  std::sort(means.begin(), means.end());
  auto at = [&](double q) { return means[size_t(std::clamp<int64_t>(int64_t(std::floor(q * (resamples - 1))), 0, resamples - 1))]; };
  return {at(0.025), at(0.975)};
}

}  // namespace elab
