#include "study/imports.h"

#include <fmt/format.h>

#include "results/db.h"
#include "results/importers.h"

namespace elab {

StudyImports import_study_results(const StudySpec& spec, const std::string& db) {
  StudyImports total;
  for (const auto& b : spec.results) {
    const auto rows = import_results(b.importer, {b.paths, b.mapping, b.meta});
    const auto s = add_result_rows(db, rows, b.where);
    fmt::print("{}: {} {} rows ({} written, {} already given by another file)\n", b.where, rows.size(), b.importer, s.added, s.unchanged);
    total.added += s.added;
    total.unchanged += s.unchanged;
  }
  return total;
}

}  // namespace elab
