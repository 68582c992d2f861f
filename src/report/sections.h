#pragma once
// The report's sections, one file each: the four research questions (each adds its
// tables, figures and verdict to the document, its comparisons to `findings`, and returns
// its one-line summary for the terminal), then the training-step curves and the extraction audit. Torch-free.
#include <functional>
#include <string>
#include <vector>

#include "report/cells.h"
#include "report/doc.h"
#include "report/findings.h"

namespace elab {

std::string section_icl_vs_supervised(const Cells& c, Doc& doc, std::vector<Finding>& findings);      // Q1 (section_icl.cpp)
std::string section_prompting_vs_finetuning(const Cells& c, Doc& doc, std::vector<Finding>& findings);  // Q2 (section_adaptation.cpp)
std::string section_scale(const Cells& c, Doc& doc, std::vector<Finding>& findings);                    // Q3 (section_scale.cpp)
std::string section_recipes(const Cells& c, Doc& doc, std::vector<Finding>& findings);                  // Q4 (section_recipes.cpp)
void section_training_steps(const std::vector<JobRecord>& jobs, const std::vector<EvalRow>& rows, Doc& doc);
void section_extraction_audit(const std::vector<EvalRow>& rows, Doc& doc);

// What a section reads: the study's jobs, its evaluations and their cells.
struct ReportInputs {
  const std::vector<JobRecord>& jobs;
  const std::vector<EvalRow>& rows;
  const Cells& cells;
};

// A section of a study's report, in order: it adds its part to `doc` and its comparisons
// to `findings`, and returns its one-line summary for the terminal ("" = none).
struct ReportSection {
  std::string name;
  std::function<std::string(const ReportInputs& in, Doc& doc, std::vector<Finding>& findings)> write;
  // The question it details ("Q1".."Q4"): the report opens it with the question's heading,
  // answer and forest plot, then its panels as one faceted figure. "": a section of its
  // own, which writes its own heading.
  std::string question;
  std::string facets_title;  // the faceted figure's title
};

// The sections, one line each in table() of report.cpp.
const std::vector<ReportSection>& report_sections();
// Adds a section at the end, at run time (a test's dummy section).
void register_report_section(ReportSection section);

// The smallest preset at which a chain-of-thought method beats direct answers on
// (recipe, task, id); "" when none does.
std::string cot_threshold_of(const Cells& c, const std::string& recipe, const std::string& task);

// results.csv: one line per evaluation.
std::string results_csv(const std::vector<EvalRow>& rows);

}  // namespace elab
