#pragma once
// Statistics for accuracies: bootstrap confidence intervals over examples.
#include <cstdint>
#include <utility>
#include <vector>

namespace elab {

double mean(const std::vector<double>& xs);
// Percentile bootstrap 95% CI of the mean, `resamples` resamples drawn from `seed`.
std::pair<double, double> bootstrap_ci95(const std::vector<double>& xs, uint64_t seed, int resamples = 2000);

}  // namespace elab
