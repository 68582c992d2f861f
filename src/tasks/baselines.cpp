#include "tasks/baselines.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace elab {

namespace {

// Gold answers compared as the extractors compare them: case and surrounding space aside.
std::string normalised(const std::string& answer) {
  size_t b = answer.find_first_not_of(" \t\n"), e = answer.find_last_not_of(" \t\n");
  std::string out = b == std::string::npos ? "" : answer.substr(b, e - b + 1);
  for (char& ch : out) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

}  // namespace

TrivialBaselines trivial_baselines(const Task& task, const std::vector<Example>& items) {
  TrivialBaselines b;
  if (items.empty()) return b;
  std::map<std::string, int64_t> counts;
  for (const auto& e : items) ++counts[normalised(e.answer)];
  const auto best = std::max_element(counts.begin(), counts.end(),
                                     [](const auto& x, const auto& y) { return x.second < y.second; });
  b.constant_answer = best->first;
  b.constant = double(best->second) / double(items.size());
  // Chance over each item's closed answer set (Task::answer_options), averaged: items may
  // list different numbers of options; an open answer counts 0.
  double sum = 0;
  for (const auto& e : items) {
    const size_t k = task.answer_options(e).size();
    sum += k >= 2 ? 1.0 / double(k) : 0.0;
  }
  b.chance = sum / double(items.size());
  return b;
}

}  // namespace elab
