#pragma once
// Statistics for accuracies: bootstrap confidence intervals over examples, paired
// comparisons of two methods on the same examples, and the continuous answer metrics.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace elab {

double mean(const std::vector<double>& xs);
// Percentile bootstrap 95% CI of the mean, `resamples` resamples drawn from `seed`.
std::pair<double, double> bootstrap_ci95(const std::vector<double>& xs, uint64_t seed, int resamples = 2000);

// The 95% CI of a macro average (the mean of each stratum's mean): items are resampled
// within each stratum, 1000 times, from `seed`.
std::pair<double, double> stratified_macro_ci95(const std::vector<std::vector<double>>& strata, uint64_t seed);

struct PairedDifference {
  double diff = 0;             // mean(a) - mean(b)
  double lo = 0, hi = 0;       // paired-bootstrap 95% CI of the difference
  bool resolved() const { return lo > 0 || hi < 0; }  // the interval excludes zero
};
// The same with the items in `clusters` equal consecutive blocks (a cell's training seeds):
// clusters are resampled, then items within each; clusters <= 1 is bootstrap_ci95.
std::pair<double, double> bootstrap_ci95_clustered(const std::vector<double>& xs, int64_t clusters, uint64_t seed,
                                                   int resamples = 2000);

// a[i] and b[i] are the same example under two methods; examples are resampled together
// (within `clusters` blocks, the training seeds, resampled first).
PairedDifference paired_bootstrap(const std::vector<double>& a, const std::vector<double>& b, uint64_t seed,
                                  int resamples = 2000, int64_t clusters = 1);

// Fraction of gold characters matched position by position (over the longer length).
double char_accuracy(const std::string& predicted, const std::string& gold);
// Levenshtein distance / the longer length: 0 identical, 1 nothing in common.
double normalized_edit_distance(const std::string& predicted, const std::string& gold);

}  // namespace elab
