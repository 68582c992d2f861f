#pragma once
// A study's [[results]] blocks imported into its database (results/db.h), before its own
// jobs run: each block is one import, all or nothing; a re-run adds nothing new.
#include <string>

#include "study/spec.h"

namespace elab {

struct StudyImports {
  int64_t added = 0, unchanged = 0;
};
StudyImports import_study_results(const StudySpec& spec, const std::string& db);

}  // namespace elab
