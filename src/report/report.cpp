#include "report/report.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/fs.h"
#include "report/sections.h"

namespace elab {

std::string cot_threshold(const std::vector<ResultRow>& rows, const std::string& recipe, const std::string& task,
                          uint64_t seed) {
  return cot_threshold_of(make_cells(rows, seed), recipe, task);
}

StudyReport build_report(const std::vector<JobRecord>& jobs, const std::string& title, uint64_t seed) {
  const auto rows = result_rows(jobs);
  check(!rows.empty(), "no finished evaluations to report (run the study first)");
  const Cells cells = make_cells(rows, seed);
  Doc doc;
  doc.heading("Study report: " + title, 1);
  int done = 0, failed = 0;
  for (const auto& j : jobs) (j.status == "done" ? done : failed) += 1;
  doc.para(fmt::format("{} jobs finished, {} failed; {} evaluations over presets {}, recipes {}, tasks {}. Accuracies are "
                       "exact match with 95% bootstrap CIs; comparisons are paired bootstraps over the same test items; "
                       "\"not enough evidence\" means the interval of the difference includes zero.",
                       done, failed, rows.size(), fmt::join(cells.presets, ", "), fmt::join(cells.recipes, ", "),
                       fmt::join(cells.tasks, ", ")));
  StudyReport report;
  const std::string q1 = section_icl_vs_supervised(cells, doc);
  const std::string q2 = section_prompting_vs_finetuning(cells, doc);
  const std::string q3 = section_scale(cells, doc);
  const std::string q4 = section_recipes(cells, doc);
  section_training_steps(jobs, rows, doc);
  section_extraction_audit(rows, doc);
  report.summary = fmt::format("{}\n{}\n{}\n{}", q1, q2, q3, q4);
  report.markdown = doc.md;
  report.html = html_page(title, doc.html);
  report.csv = results_csv(rows);
  return report;
}

void write_report(const StudyReport& report, const std::string& dir) {
  fs::create_directories(dir);
  write_file_atomic(fs::path(dir) / "index.html", report.html);
  write_file_atomic(fs::path(dir) / "report.md", report.markdown);
  write_file_atomic(fs::path(dir) / "results.csv", report.csv);
}

}  // namespace elab
