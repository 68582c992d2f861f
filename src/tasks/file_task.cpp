#include <algorithm>
#include "tasks/file_task.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "core/error.h"
#include "core/rng.h"
#include "tasks/extract.h"

namespace elab {

namespace fs = std::filesystem;

static bool g_skip_bad = false;
void set_skip_bad_lines(bool skip) { g_skip_bad = skip; }
bool skip_bad_lines() { return g_skip_bad; }

std::string data_root() {
  if (const char* env = std::getenv("ELAB_DATA"); env && *env) return env;
  std::vector<fs::path> candidates;
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    fs::path dir = fs::path(exe).parent_path();  // <checkout>/build
    candidates.push_back(dir / ".." / ".." / "shared" / "data");
    candidates.push_back(dir / ".." / ".." / ".." / "shared" / "data");
  }
  candidates.push_back(fs::current_path() / ".." / "shared" / "data");
  for (const auto& c : candidates)
    if (fs::is_directory(c)) return fs::weakly_canonical(c).string();
  return "";
}

std::string data_path(const std::string& relative, const std::string& what) {
  std::string root = data_root();
  check(!root.empty(), "{}: data not found; set ELAB_DATA to the folder holding {} (default: ../shared/data beside the checkout)",
        what, relative);
  fs::path p = fs::path(root) / relative;
  check(fs::exists(p), "{}: {} does not exist (data root {}; set ELAB_DATA to change it)", what, p.string(), root);
  return p.string();
}

const std::vector<Example>& FileTask::items(const std::string& split, Pool pool) const {
  check_split(split);
  if (pool != Pool::test) return exemplar_items_;
  size_t i = size_t(std::find(test_splits_.begin(), test_splits_.end(), split) - test_splits_.begin());
  return test_items_.at(i);
}

int64_t FileTask::pool_size(const std::string& split, Pool pool) const {
  return int64_t(items(split, pool).size());
}

Example FileTask::example(const std::string& split, Pool pool, uint64_t seed, int64_t index) const {
  const auto& list = this->items(split, pool);
  check(index >= 0 && index < int64_t(list.size()), "task {}: the {} pool of split {} has {} items; item {} asked for",
        name(), pool_name(pool), split, list.size(), index);
  if (pool == Pool::test) return list[size_t(index)];
  // Exemplars: a seeded permutation, so different seeds give different exemplar sets.
  std::vector<size_t> order(list.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(derive_seed(seed, "file-exemplars/" + name()));
  rng.shuffle(order);
  return list[order[size_t(index)]];
}

AnswerKind infer_answer_kind(const std::vector<std::string>& answers) {
  static const std::regex choice(R"(^\([A-Z]\)$)");
  static const std::regex boolean(R"(^(yes|no|true|false|valid|invalid)$)", std::regex::icase);
  bool all_number = !answers.empty(), all_choice = all_number, all_bool = all_number;
  for (const auto& a : answers) {
    all_number &= !normalize_number(a).empty();
    all_choice &= std::regex_match(a, choice);
    all_bool &= std::regex_match(a, boolean);
  }
  if (all_number) return AnswerKind::number;
  if (all_choice) return AnswerKind::choice;
  if (all_bool) return AnswerKind::boolean;
  return AnswerKind::text;
}

}  // namespace elab
