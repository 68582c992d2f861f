#pragma once
// Analyses over result rows, whoever produced them: elab's own ladder, real models run
// here, and imported published ladders, on one scale axis. Each analysis is one file
// (analysis_*.cpp) registered by one line in row_analyses() (scale_report.cpp); it adds
// its tables and figures to the document, its comparisons to the findings (each with the
// published result it meets or contradicts), and its thresholds to the scale axis.
// Torch-free.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "report/doc.h"
#include "report/findings.h"
#include "results/row.h"

namespace elab {

// A point on the report's one scale axis: a family's threshold for a question.
struct ScaleMark {
  std::string family, what;  // what: "CoT > direct", "above chance on gsm8k", ...
  double parameters = 0;
};

struct RowAnalysisContext {
  const std::vector<ResultRow>& rows;
  Doc& doc;
  std::vector<Finding>& findings;
  std::vector<ScaleMark>& marks;
};

struct RowAnalysis {
  std::string name, question, title;
  // Returns its one-line summary for the terminal; "" when the rows hold nothing for it.
  std::function<std::string(RowAnalysisContext&)> run;
};

const std::vector<RowAnalysis>& row_analyses();
// Adds one at run time (a test's); its name must be new.
void register_row_analysis(RowAnalysis analysis);

// The analyses, one file each.
RowAnalysis icl_gain_analysis();        // analysis_icl_gain.cpp (Q1)
RowAnalysis threshold_analysis();       // analysis_thresholds.cpp (Q3: emergence above chance)
RowAnalysis cot_analysis();             // analysis_cot.cpp (Q3, Q4)
RowAnalysis metric_artefact_analysis(); // analysis_metric.cpp (Q3: Schaeffer et al. 2023)
RowAnalysis variant_analysis();         // analysis_variants.cpp (Q4: instruct and code at matched size)

// Shared helpers.
// A family's series label: the family, with the variant when it is not the base
// ("Llama-2 (code)"), so tuned models never stand in a base ladder.
std::string series_family(const RowModel& m);
// A group of sub-tasks reported as one: MMLU's subjects ("mmlu"), numbered sub-tasks ("x_0".."x_99" -> "x").
std::string subtask_group(const std::string& task);
// Whether checkpoint `step` comes after `than`: the final weights (-1) after every step.
inline bool later_checkpoint(int64_t step, int64_t than) { return than != -1 && (step == -1 || step > than); }
// Each model's rows at its last checkpoint (the final weights: step -1, else its largest step).
std::vector<const ResultRow*> final_checkpoint(const std::vector<ResultRow>& rows);
// Rows grouped by family, each family's models in order of size.
std::map<std::string, std::vector<const ResultRow*>> by_family(const std::vector<const ResultRow*>& rows);
// "1.4B", "160M", "68K" (parameters or tokens).
std::string size_label(double x);
// "+0.123 [+0.050, +0.196]"
std::string effect_ci(double d, double lo, double hi);
// The mean of several differences (independent tasks), with its CI from their standard errors.
struct PooledDifference {
  double diff = NAN, lo = NAN, hi = NAN;
  int parts = 0;
  bool resolved() const { return lo > 0 || hi < 0; }
};
PooledDifference pool(const std::vector<RowDifference>& parts);
PairedDifference as_paired(const PooledDifference& d);
// a - b of two independent pooled differences (a gain at one size minus at another).
RowDifference minus(const PooledDifference& a, const PooledDifference& b);
// The report's markdown/HTML of the whole analysis over `rows`: every registered analysis,
// then the one scale axis with the marks. Returns the terminal summary lines.
// result_rows.csv: one line per row (model facts, task, method, metric, value, its CI).
std::string result_rows_csv(const std::vector<ResultRow>& rows);

// `marks` receives the thresholds the analyses found (the report's opening axis draws them).
std::string row_report_sections(const std::vector<ResultRow>& rows, Doc& doc, std::vector<Finding>& findings,
                                std::vector<ScaleMark>& marks);
// One scale axis: every model of `rows` by parameters (10^4 to 10^12), a row per family,
// with each family's thresholds marked and the published 62B and 175B lines.
std::string scale_axis_svg(const std::vector<ResultRow>& rows, const std::vector<ScaleMark>& marks);

}  // namespace elab
