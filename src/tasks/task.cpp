#include "tasks/task.h"

#include "core/hash.h"
#include "core/names.h"

namespace elab {

const char* pool_name(Pool p) {
  switch (p) {
    case Pool::train: return "train";
    case Pool::exemplar: return "exemplar";
    case Pool::test: return "test";
  }
  return "?";
}

std::vector<std::string> Task::split_names() const {
  std::vector<std::string> names;
  for (const auto& s : splits()) names.push_back(s.name);
  return names;
}

void Task::check_split(const std::string& split) const {
  auto names = split_names();
  for (const auto& n : names)
    if (n == split) return;
  fail_unknown("split of task " + name(), split, names);
}

Pool pool_of(const std::string& task_name, const std::string& key) {
  uint64_t bucket = Hasher().add(task_name).add("\x1f").add(key).value() % 100;
  if (bucket < 80) return Pool::train;
  if (bucket < 90) return Pool::exemplar;
  return Pool::test;
}

}  // namespace elab
