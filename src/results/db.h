#pragma once
// The results database: result rows in SQLite, beside (or apart from) a study's job
// records. One import is one transaction: a file that fails leaves nothing behind, and a
// row whose key is already there with another value is refused, naming both sources.
// Torch-free.
#include <string>
#include <vector>

#include "results/row.h"

namespace elab {

// What an import added, for its log line.
struct ImportSummary {
  int64_t added = 0, unchanged = 0;  // unchanged: another file already gave the same value
};

// Adds `rows` to the database at `path` (created when missing), all or none. `what` names
// the import in errors ("lm-eval pythia/v1/...").
ImportSummary add_result_rows(const std::string& path, const std::vector<ResultRow>& rows, const std::string& what);
// Every imported row, in insertion order; none when the file has no rows table.
std::vector<ResultRow> read_result_rows(const std::string& path);
// True when the database file holds imported rows.
bool has_result_rows(const std::string& path);

}  // namespace elab
