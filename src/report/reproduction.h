#pragma once
// A reproduction's verdict (study/reproduce.h): its criterion judged on the study's cells,
// and its page: the paper, the published setting and numbers, ours, the criterion, pass
// or fail, and a figure of our cells. Torch-free.
#include <optional>
#include <string>

#include "report/cells.h"
#include "study/reproduce.h"

namespace elab {

// One size of a seed_split criterion: each seed's accuracy is one training outcome.
struct SeedOutcomes {
  std::string base;  // "d32/task:add..." as the report names bases
  int64_t parameters = 0;
  std::vector<uint64_t> seeds;
  std::vector<double> accuracies;  // one per seed, in the order of `seeds`
  double mean = 0, lo = 0, hi = 0;  // the mean over seeds, 95% bootstrap CI over seeds
  double share_low = 0, share_high = 0;
  bool split = false;  // both modes hold at least min_share of the seeds
};

struct ReproductionVerdict {
  bool passed = false;
  std::string reason;     // why it passed or failed, with the numbers
  std::optional<Cell> a, b;
  std::optional<PairedDifference> difference;  // a - b, when the criterion has b
  std::vector<SeedOutcomes> sizes;             // seed_split: every size, smallest first
};

// The criterion on the study's evaluation rows: a cell of the final weights from the rows
// without a snapshot, a cell at step N from the rows of that snapshot (the same items, so
// a snapshot and the end pair item for item). A missing cell or too few seeds fails it
// with the reason.
ReproductionVerdict judge_reproduction(const ReproduceCriterion& criterion, const std::vector<EvalRow>& rows, uint64_t seed);

struct ReproductionPage {
  std::string markdown, html;  // html: one self-contained page
  std::string json;            // name, paper, criterion, passed, reason, our numbers
};
ReproductionPage reproduction_page(const std::string& name, const ReproduceSpec& spec, const ReproductionVerdict& verdict,
                                   double wall_seconds, double job_seconds = 0);

}  // namespace elab
