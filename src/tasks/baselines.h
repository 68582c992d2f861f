#pragma once
// The trivial baselines of a set of test items: what answering without reading the
// question scores. A comparison counts only when both of its cells beat these (the lab's
// science standard), so every evaluation carries them. Torch-free.
#include <string>
#include <vector>

#include "tasks/task.h"

namespace elab {

struct TrivialBaselines {
  // The most frequent gold answer among the items, and its accuracy on them: the best any
  // constant answer scores. Chosen on the items themselves, so it is an upper bound of a
  // constant answerer's score, which makes "above it" a conservative test.
  std::string constant_answer;
  double constant = 0;
  // Chance over a closed answer set (Task::answer_options): 1/2 for yes/no answers, 1/k
  // for k options (A).. or k labels, 0 for open answers (numbers, text), where the
  // constant answer is the baseline.
  double chance = 0;
  double best() const { return constant > chance ? constant : chance; }
};

TrivialBaselines trivial_baselines(const Task& task, const std::vector<Example>& items);

}  // namespace elab
