#pragma once
// Findings: the comparisons the report's sections make, each typed with its effect, its
// confidence interval and the published result it corresponds to. They make the report's
// opening summary (one answer per question) and report/verdicts.json. Torch-free.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/stats.h"

namespace elab {

struct Finding {
  std::string question;    // "Q1" .. "Q4"
  std::string claim;       // what A - B > 0 would mean, in words
  std::string comparison;  // which cells: "m / ladder-bursty / iclass id: random labels - shown labels"
  double effect = 0, lo = 0, hi = 0;  // A - B with its paired-bootstrap 95% CI
  std::string literature;  // the published result it corresponds to
  // The sign of the effect that result reports: +1, -1, 0 (no difference), or none when
  // it predicts nothing for this comparison.
  std::optional<int> published_sign;
  bool resolved() const { return lo > 0 || hi < 0; }
  // "as published", "contrary to the published result", "no published direction", or "not resolved".
  std::string agreement() const;
};

Finding make_finding(const std::string& question, const std::string& claim, const std::string& comparison,
                     const PairedDifference& d, const std::string& literature, std::optional<int> published_sign);

// One question's answer: its headline finding (the resolved one with the largest
// effect; when none is resolved, the one closest to being so) and the counts.
// One claim of a question: its comparisons' count, how many are resolved, the farthest.
struct ClaimSummary {
  std::string claim;
  int comparisons = 0, resolved = 0;
  const Finding* farthest = nullptr;
};

struct QuestionAnswer {
  std::string question, text;
  std::vector<Finding> findings;
  const Finding* headline() const;
  std::vector<ClaimSummary> claims() const;  // in order of first appearance
  int resolved() const;
  std::string answer() const;  // one sentence: the headline with its CI, or "not resolved at this budget"
};

std::vector<QuestionAnswer> answers(const std::vector<Finding>& findings);
nlohmann::json verdicts_json(const std::vector<QuestionAnswer>& answers, const std::string& title);

}  // namespace elab
