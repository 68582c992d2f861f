#pragma once
// The study report: from the finished jobs of a results store to one section per
// research question (DESIGN.md), each ending in a verdict computed from the numbers and
// their confidence intervals. Written as index.html (self-contained, inline SVG),
// report.md and results.csv. Torch-free.
#include <string>
#include <vector>

#include "report/cells.h"

namespace elab {

struct StudyReport {
  std::string markdown, html, csv;
  std::string rows_csv;  // result_rows.csv: the imported rows at each model's last checkpoint (one line each)
  std::string verdicts;  // verdicts.json: each question's answer and every comparison (report/findings.h)
  std::string summary;   // each question's answer, then one line per question (counts of verdicts), for the terminal
};

// Thresholds of question 3, on rows of one (recipe, task, split id): the smallest preset
// at which `cot` beats `direct` (paired bootstrap, CI above zero); "" when none does.
std::string cot_threshold(const std::vector<EvalRow>& rows, const std::string& recipe, const std::string& task,
                          uint64_t seed);

// `imported`: result rows from importers (results/db.h) analysed beside the study's own
// evaluations on one scale axis (report/scale_rows.h); a report may hold only those.
StudyReport build_report(const std::vector<JobRecord>& jobs, const std::string& title, uint64_t seed = 1,
                         const std::vector<ResultRow>& imported = {});
// Writes index.html, report.md, results.csv and verdicts.json into `dir` (each atomically).
void write_report(const StudyReport& report, const std::string& dir);

}  // namespace elab
