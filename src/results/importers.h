#pragma once
// Importers: others' result files turned into result rows, registered by name in one
// table (importers.cpp). Each is versioned (the version goes into every row's source, so
// a re-import under a changed importer is told apart) and refuses malformed input with
// the file, line or key and the reason, before anything is written. Torch-free.
#include <functional>
#include <string>
#include <vector>

#include "results/row.h"

namespace elab {

struct ImportRequest {
  std::vector<std::string> paths;  // files or directories (searched recursively)
  std::string mapping;             // csv: the column mapping (TOML); results/import_csv.cpp
  std::string meta;                // lm-eval: model facts the files lack (TOML sidecar); results/import_lmeval.cpp
};

struct Importer {
  std::string name, version, help;
  std::function<std::vector<ResultRow>(const ImportRequest&)> read;
};

const std::vector<Importer>& importers();
// Adds one at run time (a test's, a plug-in's); its name must be new.
void register_importer(Importer importer);
const Importer& find_importer(const std::string& name);  // an Error listing the valid names
// Runs the importer; the rows' sources carry "<name>@<version>:".
std::vector<ResultRow> import_results(const std::string& importer, const ImportRequest& request);

// The files an importer reads for one given path: the path itself when it is a file, else
// the files below it (`recursive`) that `keep` accepts, sorted; an Error naming the path
// when it does not exist or a folder holds none (`kind` says which files: "results .json").
std::vector<std::string> input_files(const std::string& path, bool recursive,
                                     const std::function<bool(const std::string&)>& keep, const std::string& kind);

// The importers themselves, one file each.
Importer lm_eval_importer();  // import_lmeval.cpp
Importer csv_importer();      // import_csv.cpp

}  // namespace elab
