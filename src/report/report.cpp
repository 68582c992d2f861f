#include "report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "report/scale_rows.h"
#include "report/sections.h"

namespace elab {

std::string cot_threshold(const std::vector<EvalRow>& rows, const std::string& recipe, const std::string& task,
                          uint64_t seed) {
  return cot_threshold_of(make_cells(rows, seed), recipe, task);
}

// The summary table: each question's headline and its other claims (collapsed in HTML
// under the answers; verdicts.json holds every comparison).
static void summary_table(const std::vector<QuestionAnswer>& qs, Doc& doc) {
  std::vector<std::vector<std::string>> rows;
  auto effect = [](const Finding& f) { return fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", f.effect, f.lo, f.hi); };
  // "3 of 18 (8 do not count)": comparisons resolved, of all, and those whose cells fail.
  auto tally = [](int resolved, size_t all, int not_counted) {
    return fmt::format("{} of {}", resolved, all) + (not_counted ? fmt::format(" ({} do not count)", not_counted) : "");
  };
  for (const auto& q : qs) {
    const Finding* h = q.headline();
    if (!h) {
      rows.push_back({q.question, "not resolved at this budget: no comparison", "-", "-", "-", "-"});
      continue;
    }
    const bool answered = h->resolved();
    rows.push_back({q.question,
                    answered ? h->claim : h->counts() ? std::string("not resolved at this budget") : "no comparison counts",
                    h->comparison + ": " + effect(*h), tally(q.resolved(), q.findings.size(), q.not_counted()), h->literature,
                    h->agreement()});
    for (const auto& c : q.claims()) {
      if (c.claim == h->claim) continue;
      rows.push_back({"", c.claim, c.farthest->comparison + ": " + effect(*c.farthest),
                      tally(c.resolved, size_t(c.comparisons), c.not_counted), c.farthest->literature, c.farthest->agreement()});
    }
  }
  doc.para("Each question's answer is its headline comparison: the resolved one (95% CI excluding zero, or inside or beyond "
           "the margin of a claim of no difference) farthest from zero, or \"not resolved at this budget\"; each other claim "
           "by its comparison farthest from zero. Effects are differences in accuracy, A - B, paired over the same test items "
           "where per-item outcomes exist (elab's own evaluations, lm-evaluation-harness sample files), else from the "
           "sources' standard errors.");
  doc.table({"question", "answer / claim", "comparison: effect [95% CI]", "resolved", "published result", "agreement"}, rows);
}

// The opening: the four answers, two or three sentences each, beside the one scale axis.
static void opening(const std::vector<QuestionAnswer>& qs, const std::string& axis, Doc& doc) {
  doc.md += "## Answers\n\n";
  doc.html += "<div class=\"opening\"><div class=\"answers\">\n";
  for (const auto& q : qs) {
    doc.md += fmt::format("**{} {}** {}\n\n", q.question, q.text, q.brief());
    doc.html += fmt::format("<div class=\"answer\" id=\"answer-{}\"><h3>{} {}</h3><p>{}</p></div>\n", q.question, q.question,
                            xml_escape(q.text), xml_escape(q.brief()));
  }
  doc.html += "</div>";
  if (!axis.empty()) doc.html += "<figure class=\"axis\">" + axis + "</figure>";
  doc.html += "</div>\n";
}

// A question's head: its heading, its answer, its forest plot (every comparison, by
// scale), the published results its claims face, then the section's faceted figure.
static void question_head(const QuestionAnswer& q, const Doc& part, const std::string& facets_title,
                          const std::function<std::string(std::string)>& shorten, Doc& doc) {
  doc.heading(fmt::format("{} {}", q.question, q.text), 2);
  doc.para(q.brief());
  if (!q.findings.empty()) {
    // The plot's labels are cut to fit: short names first, so the cut keeps what differs.
    std::vector<Finding> labelled = q.findings;
    for (auto& f : labelled) f.comparison = shorten(f.comparison);
    std::vector<const Finding*> all;
    for (const auto& f : labelled) all.push_back(&f);
    doc.figure(forest_svg(fmt::format("{}: every comparison, A - B with its 95% CI", q.question), all));
  }
  std::vector<std::string> published;
  for (const auto& f : q.findings)
    if (std::find(published.begin(), published.end(), f.literature) == published.end()) published.push_back(f.literature);
  if (!published.empty()) doc.para(fmt::format("Published results these comparisons face: {}.", fmt::join(published, "; ")));
  if (!part.panels.empty()) doc.figure(facets_svg(facets_title, part.panels));
}

// Long task names ("iclass:bursty=0.9,item_len=2,...") shown short ("iclass¹"), each
// defined once in the legend; the CSV and verdicts.json keep the full names.
static std::vector<std::pair<std::string, std::string>> short_names(const std::vector<std::string>& tasks) {
  constexpr size_t kLong = 24;
  std::vector<std::pair<std::string, std::string>> out;
  std::map<std::string, int> used;
  for (const auto& t : tasks) {
    if (t.size() <= kLong || t.find(':') == std::string::npos) continue;
    const std::string stem = t.substr(0, t.find(':'));
    const int k = ++used[stem];
    static const char* marks[] = {"\u00b9", "\u00b2", "\u00b3", "\u2074", "\u2075", "\u2076", "\u2077", "\u2078", "\u2079"};
    out.push_back({t, stem + (k <= 9 ? std::string(marks[k - 1]) : fmt::format("#{}", k))});
  }
  // Longest first, so that no name is replaced inside a longer one.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return out;
}

static std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
  return text;
}

namespace {

std::vector<ReportSection>& table() {
  using In = const ReportInputs&;
  using F = std::vector<Finding>&;
  // One line per section, in the report's order.
  static std::vector<ReportSection> sections = {
      {"icl-vs-supervised", [](In in, Doc& d, F f) { return section_icl_vs_supervised(in.cells, d, f); }, "Q1",
       "Accuracy against the number of examples: in context (icl:K) and fine-tuned (ft:METHOD, N), per base"},
      {"prompting-vs-finetuning", [](In in, Doc& d, F f) { return section_prompting_vs_finetuning(in.cells, d, f); }, "Q2",
       "Accuracy against the number of examples, in context (icl) and fine-tuned (ft), in distribution and under each shift"},
      {"scale", [](In in, Doc& d, F f) { return section_scale(in.cells, d, f); }, "Q3",
       "Accuracy against parameters, per recipe and task (dashed: the chain-of-thought threshold)"},
      {"recipes", [](In in, Doc& d, F f) { return section_recipes(in.cells, d, f); }, "Q4",
       "Accuracy against parameters, each pre-training recipe, per prompting method (rows) and task (columns), in distribution"},
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
  StudyReport report;
  std::vector<Finding> findings;
  std::string summary_lines;
  Doc how;  // how to read the report: what ran, the intervals, the counting rules
  std::vector<std::pair<const ReportSection*, Doc>> parts;
  std::vector<std::string> tasks;
  std::vector<ScaleMark> marks;
  if (!rows.empty()) {
    const Cells cells = make_cells(rows, seed);
    tasks = cells.tasks;
    int done = 0, failed = 0;
    for (const auto& j : jobs) (j.status == "done" ? done : failed) += 1;
    how.para(fmt::format("{} jobs finished, {} failed; {} evaluations over presets {}, recipes {}, tasks {}. Accuracies are "
                         "exact match with 95% bootstrap CIs; comparisons are paired bootstraps over the same test items; "
                         "\"not enough evidence\" means the interval of the difference includes zero.",
                         done, failed, rows.size(), fmt::join(cells.presets, ", "), fmt::join(cells.recipes, ", "),
                         fmt::join(cells.tasks, ", ")));
    int most_seeds = 0;
    for (const auto& [k, c] : cells.by_key) most_seeds = std::max(most_seeds, c.seeds);
    how.para(most_seeds > 1 ? fmt::format("Cells pool up to {} pre-training seeds: intervals resample the seeds, then the "
                                          "items within each, so seed-to-seed variance is in them.", most_seeds)
                            : "One pre-training seed per base: the intervals cover the test items, not the variation "
                              "between training runs (a study with several seeds puts that in them).");
    how.para(counting_rules());
    const ReportInputs in{jobs, rows, cells};
    for (const auto& section : report_sections()) {
      Doc part;
      if (const std::string line = section.write(in, part, findings); !line.empty())
        summary_lines += (summary_lines.empty() ? "" : "\n") + line;
      parts.emplace_back(&section, std::move(part));
    }
    // The chain-of-thought threshold of each recipe and task, for the scale axis.
    for (const auto& recipe : cells.recipes)
      for (const auto& task : cells.tasks)
        if (const std::string t = cot_threshold_of(cells, recipe, task); !t.empty())
          for (const auto& [k, x] : cells.by_key)
            if (x.preset == t && x.recipe == recipe && x.parameters > 0) {
              marks.push_back({"elab-" + recipe, "CoT > direct on " + task, double(x.parameters)});  // as_result_rows' family
              break;
            }
  } else {
    how.para(fmt::format("{} imported result rows; the study ran no evaluation of its own.", imported.size()));
  }
  // Imported results, analysed beside the study's own rows on one scale axis; their
  // comparisons are the published ladders' unless they name one of the study's models.
  Doc at_scale;
  std::vector<ResultRow> all = as_result_rows(rows);
  if (!imported.empty()) {
    all.insert(all.end(), imported.begin(), imported.end());
    const size_t first_imported = findings.size();
    std::set<std::string> own;
    for (const auto& r : rows) own.insert(r.recipe == "source" ? r.preset : r.recipe);
    const std::string lines = row_report_sections(all, at_scale, findings, marks);
    for (size_t i = first_imported; i < findings.size(); ++i) {
      Finding& f = findings[i];
      f.scale = kPublishedLadders;
      for (const auto& name : own)
        if (f.comparison.find(name) != std::string::npos) f.scale = kOwnLadder;
    }
    summary_lines += (summary_lines.empty() ? "" : "\n") + lines;
  }
  const auto qs = answers(findings);

  // Answers first: the four answers beside the one scale axis, then each question with its
  // forest plot and faceted figure, its tables on demand; then the other sections.
  Doc doc;
  doc.heading("Study report: " + title, 1);
  // The axis holds models, not their fine-tuned variants.
  std::vector<ResultRow> sized;
  for (const auto& r : all)
    if (std::isfinite(r.model.parameters) && r.model.parameters > 0 && (r.model.variant.empty() || r.model.variant == "base"))
      sized.push_back(r);
  opening(qs, sized.empty() ? std::string() : scale_axis_svg(sized, marks), doc);
  const auto names = short_names(tasks);
  auto shorten = [&](std::string text) {
    for (const auto& [full, brief] : names) text = replace_all(text, full, brief);
    return text;
  };
  // The legend is written after every other mention is shortened (a marker holds its place),
  // so that it alone keeps the full names.
  const std::string kLegend = "\x01legend\x01";
  if (!names.empty()) doc.md += kLegend, doc.html += kLegend;
  doc.html += "<details><summary>How to read this report: what ran, the intervals, what counts; every headline in a table</summary>\n";
  doc.append(how);
  summary_table(qs, doc);
  doc.html += "</details>\n";
  for (const auto& q : qs) {
    const std::pair<const ReportSection*, Doc>* part = nullptr;
    for (const auto& p : parts)
      if (p.first->question == q.question) part = &p;
    const Doc none;
    question_head(q, part ? part->second : none, part ? part->first->facets_title : "", shorten, doc);
    if (part) {
      doc.md += part->second.md;
      doc.html += part->second.html;
    }
  }
  for (const auto& [section, part] : parts)
    if (section->question.empty()) doc.append(part);
  doc.md += at_scale.md;
  doc.html += at_scale.html;
  if (!names.empty()) {
    std::vector<std::string> legend;
    for (const auto& [full, brief] : names) legend.push_back(brief + " = " + full);
    const std::string text = fmt::format("Short names: {}.", fmt::join(legend, "; "));
    doc.md = replace_all(shorten(doc.md), kLegend, text + "\n\n");
    doc.html = replace_all(shorten(doc.html), kLegend, "<p class=\"legend\">" + xml_escape(text) + "</p>\n");
  }
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
