// Metric artefacts (Schaeffer et al. 2023, "Are emergent abilities a mirage?"): where the
// same models are scored by accuracy and by a continuous metric (bits per byte of the right
// answer, BERTScore, edit distance), does the continuous metric move smoothly where
// accuracy jumps? Sharpness of a series = its largest step between adjacent rungs as a
// share of its whole change; accuracy sharper than the continuous metric is the artefact's
// signature. Where seeds exist, the spread over seeds at each size (Zhao et al. 2025).
#include <fmt/format.h>

#include <algorithm>

#include "report/scale_rows.h"

namespace elab {

namespace {

bool continuous(const std::string& metric) {
  for (const char* m : {"bpb", "bits_per_byte", "bert", "edit_distance", "loss", "perplexity"})
    if (metric.find(m) != std::string::npos) return true;
  return false;
}

// The largest change between adjacent rungs as a share of all the change along the series
// (its total variation): 1 when it all happens at one step, 1/(rungs-1) when it is even.
double sharpness(const std::vector<double>& v) {
  if (v.size() < 3) return NAN;
  double biggest = 0, total = 0;
  for (size_t i = 1; i < v.size(); ++i) {
    biggest = std::max(biggest, std::abs(v[i] - v[i - 1]));
    total += std::abs(v[i] - v[i - 1]);
  }
  return total > 0 ? biggest / total : NAN;
}

struct SeriesPair {
  std::vector<double> x, acc, cont;
  std::vector<double> acc_spread;  // std over seeds at each x
  std::string acc_metric, cont_metric;
};

std::string run(RowAnalysisContext& c) {
  // (family, task, shots, style, format) -> x (parameters) -> metric -> values over seeds
  std::map<std::string, std::map<double, std::map<std::string, std::vector<double>>>> by;
  for (const ResultRow* r : final_checkpoint(c.rows)) {
    if (!std::isfinite(r->model.parameters)) continue;
    by[fmt::format("{}|{}|{}-shot {} {}", series_family(r->model), r->task, r->method.shots, r->method.style, r->method.format)]
      [r->model.parameters][r->metric.name].push_back(r->value);
  }
  std::vector<std::vector<std::string>> table;
  std::vector<double> gaps;
  for (const auto& [key, xs] : by) {
    if (xs.size() < 3) continue;
    // The metrics present at every size: one accuracy, one continuous.
    std::map<std::string, size_t> count;
    for (const auto& [x, ms] : xs)
      for (const auto& [m, v] : ms) ++count[m];
    std::string acc, cont;
    for (const auto& [m, k] : count) {
      if (k != xs.size()) continue;
      if (continuous(m)) { if (cont.empty()) cont = m; }
      else if (acc.empty() || m == "acc" || m == "exact_match" || m == "exact_match_accuracy") acc = m;
    }
    if (acc.empty() || cont.empty()) continue;
    SeriesPair s;
    for (const auto& [x, ms] : xs) {
      auto mean = [](const std::vector<double>& v) { double t = 0; for (double a : v) t += a; return t / double(v.size()); };
      const auto& a = ms.at(acc);
      s.x.push_back(x);
      s.acc.push_back(mean(a));
      s.cont.push_back(mean(ms.at(cont)));
      double ss = 0;
      for (double v : a) ss += (v - s.acc.back()) * (v - s.acc.back());
      s.acc_spread.push_back(a.size() > 1 ? std::sqrt(ss / double(a.size() - 1)) : NAN);
    }
    const double sa = sharpness(s.acc), sc = sharpness(s.cont);
    if (!std::isfinite(sa) || !std::isfinite(sc)) continue;
    gaps.push_back(sa - sc);
    const auto bar1 = key.find('|'), bar2 = key.find('|', bar1 + 1);
    double spread = 0;
    int spreads = 0;
    for (double v : s.acc_spread) if (std::isfinite(v)) spread = std::max(spread, v), ++spreads;
    table.push_back({key.substr(0, bar1), key.substr(bar1 + 1, bar2 - bar1 - 1), key.substr(bar2 + 1),
                     fmt::format("{} .. {}", size_label(s.x.front()), size_label(s.x.back())), acc,
                     fmt::format("{:.2f}", sa), cont, fmt::format("{:.2f}", sc),
                     spreads ? fmt::format("{:.3f}", spread) : "-"});
  }
  if (gaps.empty()) return "";
  c.doc.heading("Q3 at every scale: does the continuous metric move smoothly where accuracy jumps?", 3);
  c.doc.para("The same models scored by accuracy and by a continuous metric (averaged over seeds at each size). Sharpness is "
             "a series' largest change between adjacent sizes as a share of all its change (its total variation; 1: all at "
             "one step; 1/(rungs-1): even). Accuracy sharper "
             "than the continuous metric is what Schaeffer et al. 2023 predict of a metric-made jump. The last column is the "
             "largest standard deviation of accuracy over seeds at one size, where the source has seeds (Zhao et al. 2025).");
  c.doc.table({"family", "task", "method", "sizes", "accuracy", "sharpness", "continuous", "sharpness", "max seed sd"}, table);
  // The mean gap over series with its CI (series as independent draws).
  double m = 0, ss = 0;
  for (double g : gaps) m += g;
  m /= double(gaps.size());
  for (double g : gaps) ss += (g - m) * (g - m);
  const double se = gaps.size() > 1 ? std::sqrt(ss / double(gaps.size() - 1) / double(gaps.size())) : INFINITY;
  int sharper = 0;
  for (double g : gaps) sharper += g > 0;
  c.findings.push_back(make_finding("Q3", "accuracy jumps more sharply across sizes than a continuous metric of the same models",
                                    fmt::format("accuracy sharpness - continuous sharpness, mean over {} series", gaps.size()),
                                    {m, m - 1.96 * se, m + 1.96 * se},
                                    "Schaeffer et al. 2023 (emergence as an artefact of discontinuous metrics)", 1));
  const std::string summary = fmt::format("accuracy is sharper than the continuous metric in {} of {} series (mean gap {})",
                                          sharper, gaps.size(), effect_ci(m, m - 1.96 * se, m + 1.96 * se));
  c.doc.verdict(summary);
  return summary;
}

}  // namespace

RowAnalysis metric_artefact_analysis() { return {"metric-artefacts", "Q3", "accuracy beside a continuous metric", run}; }

}  // namespace elab
