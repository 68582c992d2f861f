#include "tasks/task.h"

#include <algorithm>

#include "core/error.h"
#include "core/hash.h"
#include "core/names.h"
#include "tasks/extract.h"

namespace elab {

const char* pool_name(Pool p) {
  switch (p) {
    case Pool::train: return "train";
    case Pool::exemplar: return "exemplar";
    case Pool::test: return "test";
  }
  return "?";
}

Pool parse_pool(const std::string& name) {
  for (Pool p : {Pool::train, Pool::exemplar, Pool::test})
    if (name == pool_name(p)) return p;
  fail_unknown("pool", name, {"train", "exemplar", "test"});
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

std::vector<std::string> Task::answer_options(const Example& e) const {
  if (answer_kind() == AnswerKind::boolean) {
    // The pair the gold answer belongs to, written as the gold is.
    static const std::vector<std::pair<std::string, std::string>> pairs = {
        {"yes", "no"}, {"Yes", "No"}, {"true", "false"}, {"True", "False"}, {"valid", "invalid"}, {"Valid", "Invalid"}};
    for (const auto& [a, b] : pairs)
      if (e.answer == a || e.answer == b) return {a, b};
    return {};
  }
  if (answer_kind() == AnswerKind::choice) {
    std::vector<std::string> options;  // "(A)", "(B)", ... as the question lists them
    for (size_t i = 0; i + 2 < e.question.size(); ++i)
      if (e.question[i] == '(' && e.question[i + 1] >= 'A' && e.question[i + 1] <= 'Z' && e.question[i + 2] == ')') {
        std::string o = e.question.substr(i, 3);
        if (std::find(options.begin(), options.end(), o) == options.end()) options.push_back(o);
      }
    return options;
  }
  return {};
}

std::string Task::extract_answer(const std::string& output, Extraction mode) const {
  if (mode == Extraction::flexible) return extract_flexible(answer_kind(), output);
  return extract_answer_of(answer_kind(), output);
}

bool Task::is_correct(const std::string& extracted, const std::string& gold, Extraction) const {
  return !extracted.empty() && extracted == normalize_answer(answer_kind(), gold);
}

std::string Task::extractor_id(Extraction mode) const { return mode == Extraction::flexible ? "flexible@1" : "elab-kind@1"; }

Pool pool_of(const std::string& task_name, const std::string& key) {
  uint64_t bucket = Hasher().add(task_name).add("\x1f").add(key).value() % 100;
  if (bucket < 80) return Pool::train;
  if (bucket < 90) return Pool::exemplar;
  return Pool::test;
}

}  // namespace elab
