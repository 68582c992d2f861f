#pragma once
// A task: a family of problems with splits (in-distribution "id" and out-of-distribution
// "ood-*"), three disjoint pools per split (training data, ICL exemplars, test items),
// an answer extractor and a scorer.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace elab {

enum class Pool { train, exemplar, test };
const char* pool_name(Pool p);

struct Example {
  std::string question;
  std::string rationale;  // chain of thought, one step a line; empty when the task has none
  std::string answer;
  std::string key;        // the problem's identity, independent of surface template
  std::map<std::string, std::string> attrs;  // "digits", "steps", "template", ...
};

struct SplitInfo {
  std::string name;         // "id", "ood-length", ...
  std::string description;  // "1-3 digit operands"
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  virtual std::vector<SplitInfo> splits() const = 0;
  // Example `index` of `pool` in `split`, drawn from `seed`: the same arguments always
  // give the same example, and the three pools never share a problem.
  virtual Example example(const std::string& split, Pool pool, uint64_t seed, int64_t index) const = 0;
  // The answer found in a model's output; "" when none could be extracted.
  virtual std::string extract_answer(const std::string& output) const = 0;
  virtual bool is_correct(const std::string& extracted, const std::string& gold) const = 0;

  // Throws an Error listing the task's splits when `split` is not one of them.
  void check_split(const std::string& split) const;
  std::vector<std::string> split_names() const;
};

// Which pool a problem belongs to: a fixed hash of task name and problem key, so the
// partition never depends on a seed: 80% training, 10% exemplars, 10% test.
Pool pool_of(const std::string& task_name, const std::string& key);

}  // namespace elab
