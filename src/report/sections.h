#pragma once
// The report's sections, one file each: the four research questions (each adds its
// tables, figures and verdict to the document, its comparisons to `findings`, and returns
// its one-line summary for the terminal), then the training-step curves and the extraction audit. Torch-free.
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

// The smallest preset at which a chain-of-thought method beats direct answers on
// (recipe, task, id); "" when none does.
std::string cot_threshold_of(const Cells& c, const std::string& recipe, const std::string& task);

// results.csv: one line per evaluation.
std::string results_csv(const std::vector<EvalRow>& rows);

}  // namespace elab
