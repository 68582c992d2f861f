#include "results/importers.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/names.h"

namespace elab {

static std::vector<Importer>& table() {
  static std::vector<Importer> t = {
      lm_eval_importer(),
      csv_importer(),
  };
  return t;
}

const std::vector<Importer>& importers() { return table(); }

void register_importer(Importer importer) {
  for (const auto& i : table()) check(i.name != importer.name, "importer {} is already registered", importer.name);
  table().push_back(std::move(importer));
}

const Importer& find_importer(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& i : importers()) {
    if (i.name == name) return i;
    names.push_back(i.name);
  }
  fail_unknown("importer", name, names);
}

std::vector<std::string> input_files(const std::string& path, bool recursive,
                                     const std::function<bool(const std::string&)>& keep, const std::string& kind) {
  namespace fs = std::filesystem;
  check(fs::exists(path), "{}: no such file or directory", path);
  if (!fs::is_directory(path)) return {path};
  std::vector<std::string> files;
  auto take = [&](const fs::directory_entry& e) {
    if (e.is_regular_file() && keep(e.path().string())) files.push_back(e.path().string());
  };
  if (recursive)
    for (const auto& e : fs::recursive_directory_iterator(path)) take(e);
  else
    for (const auto& e : fs::directory_iterator(path)) take(e);
  std::sort(files.begin(), files.end());
  check(!files.empty(), "{}: no {} files in this folder", path, kind);
  return files;
}

std::vector<ResultRow> import_results(const std::string& name, const ImportRequest& request) {
  const Importer& imp = find_importer(name);
  check(!request.paths.empty(), "import {}: no file or directory given", name);
  auto rows = imp.read(request);
  for (auto& r : rows) r.source = imp.name + "@" + imp.version + ":" + r.source;
  return rows;
}

}  // namespace elab
