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

// A cell leaving more of its items unanswered than this is a format failure.
constexpr double kMaxUnanswered = 0.20;
// The margin of "comparable" (Mosbach et al. 2023, fine-tuning and in-context learning
// with the same examples): 0.05 in accuracy. Fixed by us before any report was
// regenerated under it, not read off the papers' tables or our effects; with 100-300
// items a cell, a narrower margin could almost never be supported.
constexpr double kMosbachMargin = 0.05;
// The margin of "chain of thought does not help below ~62B" (Wei et al. 2022; Chung et al.
// 2022): the same 0.05 in accuracy, fixed before the imported ladders' report was
// regenerated under it.
constexpr double kCotBelowScaleMargin = 0.05;

struct Finding {
  std::string question;    // "Q1" .. "Q4"
  std::string claim;       // what A - B > 0 would mean, in words
  std::string comparison;  // which cells: "m / ladder-bursty / iclass id: random labels - shown labels"
  double effect = 0, lo = 0, hi = 0;  // A - B with its paired-bootstrap 95% CI
  std::string literature;  // the published result it corresponds to
  // The sign of the effect that result reports: +1, -1, 0 (no difference), or none when
  // it predicts nothing for this comparison.
  std::optional<int> published_sign;
  // A claim of no difference (published_sign 0) is judged by two one-sided tests against
  // this margin: supported when the 95% CI lies inside (-margin, +margin) (each one-sided
  // test at 2.5%), contradicted when it lies wholly beyond one side, else unresolved.
  std::optional<double> margin;
  // Why the comparison does not count ("" = it counts): a cell not above its trivial
  // baselines, or a format failure (report/cells.h cell_failure). Never resolved then.
  std::string invalid;
  // Where its models stand: report/figures.h kOwnLadder, kRealModels or kPublishedLadders
  // ("" = the lab's own ladder); the forest plots group comparisons by it.
  std::string scale;

  bool counts() const { return invalid.empty(); }
  bool equivalent() const { return margin && lo > -*margin && hi < *margin; }
  bool beyond_margin() const { return margin && (lo >= *margin || hi <= -*margin); }
  // Counts, and: a claim of no difference supported or contradicted; else the CI excludes 0.
  bool resolved() const { return counts() && (margin ? equivalent() || beyond_margin() : lo > 0 || hi < 0); }
  // "as published", "contrary to the published result", "no published direction", "not
  // resolved", or "does not count: <why>". Agreement is stated only for comparisons that count.
  std::string agreement() const;
};

// The rules above in one paragraph, for the report's opening and verdicts.json.
std::string counting_rules();

// An Error when published_sign is 0 (a claim of no difference) without a margin: the
// margin is part of the claim, never a silent default.
Finding make_finding(const std::string& question, const std::string& claim, const std::string& comparison,
                     const PairedDifference& d, const std::string& literature, std::optional<int> published_sign,
                     std::optional<double> margin = std::nullopt);

// One question's answer: its headline finding (the resolved one with the largest
// effect; when none is resolved, the one closest to being so) and the counts.
// One claim of a question: its comparisons' count, how many are resolved, the farthest.
struct ClaimSummary {
  std::string claim;
  int comparisons = 0, resolved = 0, not_counted = 0;
  const Finding* farthest = nullptr;
};

struct QuestionAnswer {
  std::string question, text;
  std::vector<Finding> findings;
  const Finding* headline() const;
  std::vector<ClaimSummary> claims() const;  // in order of first appearance
  int resolved() const;
  int not_counted() const;  // comparisons that do not count (Finding::counts)
  std::string answer() const;  // one sentence: the headline with its CI, or "not resolved at this budget"
  // Two or three short sentences for the report's opening: the answer with its effect, how
  // many comparisons are resolved, and the published result it meets or contradicts.
  std::string brief() const;
};

std::vector<QuestionAnswer> answers(const std::vector<Finding>& findings);
nlohmann::json verdicts_json(const std::vector<QuestionAnswer>& answers, const std::string& title);

}  // namespace elab
