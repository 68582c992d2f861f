#pragma once
// A reproduction: a study file with a [reproduce] table naming the published result it
// reproduces, the published setting, the scaled-down setting used here and why, the
// published numbers, and a pass/fail criterion fixed before the first run
// (studies/reproduce/, `elab reproduce`). The criterion compares cells of the study's own
// report: cell a alone against a threshold, or a - b (paired over the same items) in a
// stated direction; it must hold by the 95% CI, over at least `min_seeds` seeds.
#include <optional>
#include <string>
#include <vector>

namespace elab {

struct StudySpec;

// "m/ladder-bursty iclass:novel=64 ood-novel direct": base (PRESET/RECIPE, or a [[model]]
// source's name), task, split, method; and "step=N" after them for the base's snapshot at
// step N ([pretrain] save_at, evaluated by a block with snapshots = true) instead of its
// final weights: a result about the course of training (in-context learning that fades)
// compares a snapshot with the end.
// "... ft=METHOD:N" names the base fine-tuned by METHOD (full, lora, prefix) on N examples
// of `ft_task=TASK` (by default the cell's task itself, as a [[finetune]] block evaluates
// its own task), evaluated by that block: prompting against fine-tuning on the same
// examples (Lampinen et al. 2025) is one criterion.
struct CellRef {
  std::string base, task, split, method;
  int64_t step = 0;  // 0: the final weights
  std::string ft_method;  // "" = prompted
  int64_t ft_n = 0;
  std::string ft_task;  // "" = task
  std::string adaptation() const;  // "prompt" or the report's "ft:METHOD:N"
  std::string text() const;
};
CellRef parse_cell_ref(const std::string& text, const std::string& where);

struct ReproduceCriterion {
  // "difference" (the default): a alone, or a - b, against a threshold by its 95% CI.
  // "seed_split" (Zhao et al. 2025, emergence as a shift over seeds): a names every size
  // of one recipe ("*/RECIPE TASK SPLIT METHOD"); each seed's accuracy at each size is one
  // training outcome. A seed is low at or below `low` and high at or above `high`; a size
  // is split when at least `min_share` of its seeds are low and at least as many high. The
  // criterion holds when some size is split and, at the smallest split size, fewer than
  // half of its seeds are high: the outcomes are bimodal before the mean has jumped.
  std::string kind = "difference";
  double low = 0.2, high = 0.8, min_share = 0.15;
  CellRef a;
  std::optional<CellRef> b;  // absent: a's accuracy against `threshold`
  // "greater": a - b (or a) above `threshold` by the lower end of its 95% CI; "less": below
  // it by the upper end.
  std::string direction = "greater";
  double threshold = 0;
  int min_seeds = 1;  // the study must pool at least this many seeds
  std::string text() const;  // "a - b > 0 by its 95% CI, over >= 3 seeds"
  bool seed_split() const { return kind == "seed_split"; }
  std::string recipe_of_sizes() const;  // seed_split: the RECIPE of a's "*/RECIPE"
};

struct ReproduceSpec {
  std::string paper;      // the published result, with its authors and year
  std::string published;  // its setting and its numbers, as published
  std::string setting;    // the scaled-down setting used here, and why
  std::string figure;     // the published figure or table it is compared with
  // The published accuracies of the settings cells a and b stand for (their figure's
  // numbers, read off it), drawn beside ours on the page; absent when the paper has none.
  std::optional<double> published_a, published_b;
  ReproduceCriterion criterion;
};

// The criterion against the study's settings: enough seeds, and cells the study makes
// (its bases, tasks, splits and methods). An Error naming the mismatch otherwise; a
// study whose file was edited so that its criterion no longer matches is refused here,
// at planning, before anything runs.
void check_reproduction(const StudySpec& spec);

}  // namespace elab
