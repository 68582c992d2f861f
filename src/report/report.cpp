#include "report/report.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"
#include "core/fs.h"
#include "report/scale_rows.h"
#include "report/sections.h"

namespace elab {

std::string cot_threshold(const std::vector<EvalRow>& rows, const std::string& recipe, const std::string& task,
                          uint64_t seed) {
  return cot_threshold_of(make_cells(rows, seed), recipe, task);
}

// The opening summary: each question's answer, from its headline finding.
static void summary_section(const std::vector<QuestionAnswer>& qs, Doc& doc) {
  doc.heading("Summary", 2);
  doc.para("Each question's answer is its headline comparison (the row that names the question): the resolved one (95% CI excluding "
           "zero) farthest from zero, or \"not resolved at this budget\"; the question's other claims follow, each by its "
           "comparison farthest from zero. Effects are differences in accuracy, A - B, paired over the same test items "
           "where per-item outcomes exist (elab's own evaluations, lm-evaluation-harness sample files), else from the "
           "sources' standard errors; report/verdicts.json holds every comparison.");
  std::vector<std::vector<std::string>> rows;
  auto effect = [](const Finding& f) { return fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", f.effect, f.lo, f.hi); };
  // "3 of 18 (8 do not count)": comparisons resolved, of all, and those whose cells fail.
  auto tally = [](int resolved, size_t all, int not_counted) {
    return fmt::format("{} of {}", resolved, all) + (not_counted ? fmt::format(" ({} do not count)", not_counted) : "");
  };
  for (const auto& q : qs) {
    const Finding* h = q.headline();
    if (!h) {
      rows.push_back({q.question + " " + q.text, "not resolved at this budget: no comparison", "-", "-", "-", "-"});
      continue;
    }
    const bool answered = h->resolved();
    rows.push_back({q.question + " " + q.text,
                    answered ? h->claim : h->counts() ? std::string("not resolved at this budget") : "no comparison counts",
                    h->comparison + ": " + effect(*h), tally(q.resolved(), q.findings.size(), q.not_counted()), h->literature,
                    h->agreement()});
    for (const auto& c : q.claims()) {
      if (c.claim == h->claim) continue;
      rows.push_back({"", c.claim, c.farthest->comparison + ": " + effect(*c.farthest),
                      tally(c.resolved, size_t(c.comparisons), c.not_counted), c.farthest->literature, c.farthest->agreement()});
    }
  }
  doc.table({"question", "answer / claim", "comparison: effect [95% CI]", "resolved", "published result", "agreement"}, rows);
}

namespace {

std::vector<ReportSection>& table() {
  using In = const ReportInputs&;
  using F = std::vector<Finding>&;
  // One line per section, in the report's order.
  static std::vector<ReportSection> sections = {
      {"icl-vs-supervised", [](In in, Doc& d, F f) { return section_icl_vs_supervised(in.cells, d, f); }},
      {"prompting-vs-finetuning", [](In in, Doc& d, F f) { return section_prompting_vs_finetuning(in.cells, d, f); }},
      {"scale", [](In in, Doc& d, F f) { return section_scale(in.cells, d, f); }},
      {"recipes", [](In in, Doc& d, F f) { return section_recipes(in.cells, d, f); }},
      {"training-steps", [](In in, Doc& d, F) { return section_training_steps(in.jobs, in.rows, d), std::string(); }},
      {"extraction-audit", [](In in, Doc& d, F) { return section_extraction_audit(in.rows, d), std::string(); }},
  };
  return sections;
}

}  // namespace

const std::vector<ReportSection>& report_sections() { return table(); }

void register_report_section(ReportSection section) {
  check(!section.name.empty() && section.write, "a report section needs a name and a write function");
  for (const auto& s : table()) check(s.name != section.name, "report section {} is already registered", section.name);
  table().push_back(std::move(section));
}

StudyReport build_report(const std::vector<JobRecord>& jobs, const std::string& title, uint64_t seed,
                         const std::vector<ResultRow>& imported) {
  const auto rows = eval_rows(jobs);
  check(!rows.empty() || !imported.empty(), "no finished evaluations or imported results to report (run the study, or "
        "elab import ... --db FILE, first)");
  Doc doc, body;
  doc.heading("Study report: " + title, 1);
  StudyReport report;
  std::vector<Finding> findings;
  std::string summary_lines;
  if (!rows.empty()) {
    const Cells cells = make_cells(rows, seed);
    int done = 0, failed = 0;
    for (const auto& j : jobs) (j.status == "done" ? done : failed) += 1;
    doc.para(fmt::format("{} jobs finished, {} failed; {} evaluations over presets {}, recipes {}, tasks {}. Accuracies are "
                         "exact match with 95% bootstrap CIs; comparisons are paired bootstraps over the same test items; "
                         "\"not enough evidence\" means the interval of the difference includes zero.",
                         done, failed, rows.size(), fmt::join(cells.presets, ", "), fmt::join(cells.recipes, ", "),
                         fmt::join(cells.tasks, ", ")));
    int most_seeds = 0;
    for (const auto& [k, c] : cells.by_key) most_seeds = std::max(most_seeds, c.seeds);
    doc.para(most_seeds > 1 ? fmt::format("Cells pool up to {} pre-training seeds: intervals resample the seeds, then the "
                                          "items within each, so seed-to-seed variance is in them.", most_seeds)
                            : "One pre-training seed per base: the intervals cover the test items, not the variation "
                              "between training runs (a study with several seeds puts that in them).");
    doc.para(counting_rules());
    const ReportInputs in{jobs, rows, cells};
    for (const auto& section : report_sections())
      if (const std::string line = section.write(in, body, findings); !line.empty())
        summary_lines += (summary_lines.empty() ? "" : "\n") + line;
  } else {
    doc.para(fmt::format("{} imported result rows; the study ran no evaluation of its own.", imported.size()));
  }
  // Imported results, analysed beside the study's own rows on one scale axis.
  if (!imported.empty()) {
    std::vector<ResultRow> all = as_result_rows(rows);
    all.insert(all.end(), imported.begin(), imported.end());
    const std::string lines = row_report_sections(all, body, findings);
    summary_lines += (summary_lines.empty() ? "" : "\n") + lines;
  }
  const auto qs = answers(findings);
  summary_section(qs, doc);
  doc.md += body.md;
  doc.html += body.html;
  std::string summary;
  for (const auto& q : qs) summary += q.question + " " + q.answer() + "\n";
  report.summary = summary + summary_lines;
  report.markdown = doc.md;
  report.html = html_page(title, doc.html);
  report.csv = rows.empty() ? std::string() : results_csv(rows);
  // The rows the by-size analyses read (each model's last checkpoint); the database holds the rest.
  if (!imported.empty()) {
    std::vector<ResultRow> last;
    for (const ResultRow* r : final_checkpoint(imported)) last.push_back(*r);
    report.rows_csv = result_rows_csv(last);
  }
  report.verdicts = verdicts_json(qs, title).dump(2) + "\n";
  return report;
}

void write_report(const StudyReport& report, const std::string& dir) {
  fs::create_directories(dir);
  write_file_atomic(fs::path(dir) / "index.html", report.html);
  write_file_atomic(fs::path(dir) / "report.md", report.markdown);
  if (!report.csv.empty()) write_file_atomic(fs::path(dir) / "results.csv", report.csv);
  if (!report.rows_csv.empty()) write_file_atomic(fs::path(dir) / "result_rows.csv", report.rows_csv);
  write_file_atomic(fs::path(dir) / "verdicts.json", report.verdicts);
}

}  // namespace elab
