#pragma once
// Runs one method on one task split through a backend and scores it:
// the `--json` summary and the `--samples` lines of `elab eval`.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/backend.h"
#include "eval/method.h"
#include "tasks/task.h"

namespace elab {

struct EvalSpec {
  std::string split;              // "" = the task's default ("id", or "test" for file tasks)
  std::string method = "direct";
  int64_t n = 200;                // test items
  uint64_t seed = 1;              // test items, exemplars and samples are drawn from it
  int batch_size = 64;            // sequences decoded together
  int max_new_tokens = 0;         // 0: the method's default (32 direct, 256 chains)
  bool per_item_exemplars = false;  // fresh exemplars for every test item
  bool gold_logprob = true;       // teacher-forced log-probability of the gold answer
  std::string model_name;         // for the summary
};

struct EvalResult {
  nlohmann::ordered_json summary;               // task, split, method, model, n, accuracy, ci95, metrics, ...
  std::vector<nlohmann::ordered_json> samples;  // one per test item
};

// The first n distinct problems of the split's test pool.
std::vector<Example> test_items(const Task& task, const std::string& split, int64_t n, uint64_t seed);
// K distinct exemplars from the exemplar pool of the task's exemplar split (never the
// test pool).
std::vector<Example> exemplars(const Task& task, int64_t k, uint64_t seed);
// The exemplars a method shows for test item `item` (probes and complexity applied).
std::vector<Example> method_exemplars(const Task& task, const Method& m, uint64_t seed, int64_t item, bool per_item);
// The prompt of a method for one test item.
std::string method_prompt(const Method& m, const std::vector<Example>& shots, const Example& item);

EvalResult evaluate(Backend& backend, const Task& task, const std::string& task_spec, const EvalSpec& spec);

}  // namespace elab
