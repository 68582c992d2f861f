#pragma once
// The study report: from the finished jobs of a results store to one section per
// research question (DESIGN.md), each ending in a verdict computed from the numbers and
// their confidence intervals. Written as index.html (self-contained, inline SVG),
// report.md and results.csv. Torch-free.
#include <string>
#include <vector>

#include "study/store.h"

namespace elab {

// One evaluation, with the model it ran on.
struct ResultRow {
  std::string preset, recipe;
  int64_t parameters = 0;
  uint64_t train_seed = 0;
  std::string adaptation;  // "prompt", or "ft:METHOD:N" (fine-tuned on ft_task with N examples)
  std::string ft_method, ft_task;
  int64_t n_train = 0;
  std::string task, split, method;
  int64_t n = 0;
  double accuracy = 0, lo = 0, hi = 0;
  double gold_logprob = 0, char_accuracy = 0;
  bool has_logprob = false;
  std::vector<double> item_correct;
  double accuracy_strict = 0;
  int64_t snapshot = 0;  // > 0: evaluated on the base's snapshot at this step (not its final weights)
  std::vector<int64_t> extraction_disagreements;  // items strict and lenient extraction score differently
};

std::vector<ResultRow> result_rows(const std::vector<JobRecord>& jobs);

struct StudyReport {
  std::string markdown, html, csv;
  std::string summary;  // one line per question (counts of verdicts), for the terminal
};

// Thresholds of question 3, on rows of one (recipe, task, split id): the smallest preset
// at which `cot` beats `direct` (paired bootstrap, CI above zero); "" when none does.
std::string cot_threshold(const std::vector<ResultRow>& rows, const std::string& recipe, const std::string& task,
                          uint64_t seed);

StudyReport build_report(const std::vector<JobRecord>& jobs, const std::string& title, uint64_t seed = 1);
// Writes index.html, report.md and results.csv into `dir` (each atomically).
void write_report(const StudyReport& report, const std::string& dir);

}  // namespace elab
