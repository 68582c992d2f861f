#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "report/sections.h"

namespace elab {

// Where strict (the benchmark's rule) and lenient extraction score items differently: the
// evidence that a number does not depend on a lenient reading.
void section_extraction_audit(const std::vector<EvalRow>& rows, Doc& doc) {
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    if (r.extraction_disagreements.empty()) continue;
    std::vector<std::string> first;
    for (size_t k = 0; k < r.extraction_disagreements.size() && k < 20; ++k)
      first.push_back(std::to_string(r.extraction_disagreements[k]));
    if (r.extraction_disagreements.size() > 20) first.push_back("...");
    table.push_back({r.base, r.adaptation, r.task, r.split, r.method,
                     fmt::format("{:.3f}", r.accuracy_strict), std::to_string(r.extraction_disagreements.size()),
                     fmt::format("{}", fmt::join(first, " "))});
  }
  if (table.empty()) return;
  doc.heading("Extraction audit", 2);
  doc.para("Evaluations in which the task's strict rule (the benchmark's published extraction, used for every number "
           "above) and lenient extraction (fallback guesses) score some items differently; the items are indices into "
           "the split's test items (elab eval --samples marks them with extraction_disagrees).");
  doc.table({"base", "adaptation", "task", "split", "method", "strict accuracy", "items that differ", "items"}, table);
}

}  // namespace elab
