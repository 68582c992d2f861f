#pragma once
// Runs one method on one task split through a backend and scores it:
// the `--json` summary and the `--samples` lines of `elab eval`.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/backend.h"
#include "eval/method.h"
#include "eval/summary.h"
#include "tasks/extract.h"
#include "tasks/task.h"

namespace elab {

// -n all: every item of the split's test pool.
constexpr int64_t kAllItems = -1;
// Test items of a generated task when -n is not given.
constexpr int64_t kDefaultGeneratedItems = 200;

struct EvalSpec {
  std::string split;              // "" = the task's default ("id", or "test" for file tasks)
  std::string method = "direct";
  int64_t n = 0;                  // test items; 0 = the default (resolve_item_count), kAllItems = all
  Extraction extraction = Extraction::strict;  // the headline accuracy's rule (the other is audited)
  uint64_t seed = 1;              // test items, exemplars and samples are drawn from it
  int batch_size = 64;            // sequences decoded together
  int max_new_tokens = 0;         // 0: the method's default (32 direct, 256 chains)
  bool per_item_exemplars = false;  // fresh exemplars for every test item
  bool gold_logprob = true;       // teacher-forced log-probability of the gold answer
  bool show_progress = true;      // a progress bar on a terminal
  // When set: evaluate these items instead of the split's first n test items (the
  // evaluations during training use it for their fixed item sets).
  const std::vector<Example>* items = nullptr;
  std::string model_name;         // for the summary
};

struct EvalResult {
  EvalSummary summary;
  std::vector<nlohmann::ordered_json> samples;  // one per test item
};

// How many test items an evaluation takes. n > 0: n (an Error beyond a fixed test set).
// 0 (the default): a fixed test set whole (the official protocol), else `covered` items
// when a backend says how many it can answer, else kDefaultGeneratedItems. kAllItems: the
// whole test pool (an Error for a generator without bound).
int64_t resolve_item_count(const Task& task, const std::string& split, int64_t n, int64_t covered = 0);
// "all" -> kAllItems, "200" -> 200; an Error naming `what` otherwise.
int64_t parse_item_count(const std::string& text, const std::string& what);
// The split's first n test items: a fixed test set's items in file order (duplicates kept),
// or the first n distinct problems a generator draws from `seed`.
std::vector<Example> test_items(const Task& task, const std::string& split, int64_t n, uint64_t seed);
// The first n distinct problems that `seed` draws from a pool (an Error when the pool has
// fewer, unless `up_to`: then as many as it has): what test items, exemplars and fixed
// training sets are made of.
std::vector<Example> distinct_examples(const Task& task, const std::string& split, Pool pool, int64_t n, uint64_t seed,
                                       bool up_to = false);
// K distinct exemplars from the exemplar pool of the task's exemplar split (never the
// test pool).
std::vector<Example> exemplars(const Task& task, int64_t k, uint64_t seed);
// The exemplars a method shows for test item `item` (probes and complexity applied).
std::vector<Example> method_exemplars(const Task& task, const Method& m, uint64_t seed, int64_t item, bool per_item);
// The prompt of a method for one test item.
std::string method_prompt(const Method& m, const std::vector<Example>& shots, const Example& item);
// The same in a chat template: each exemplar a user turn (its prompt) and an assistant
// turn (its target, without the leading space), the item a user turn, then the opening of
// the assistant's turn. A task's verbatim few-shot prompt (BBH, GSM8K) is one user turn.
std::string chat_prompt(const ChatTemplate& t, const Method& m, const std::vector<Example>& shots, const Example& item,
                        const std::string& verbatim = "", const std::string& answer_cue = "");

// Tokens a method's answers may take when EvalSpec::max_new_tokens is 0: 256 for chains, 32 else.
int default_max_new_tokens(const Method& m);

// mc:K's protocol for any caller: the log-likelihood of each option of each item, scored
// as the continuation " OPTION" after the item's prompt, in one call to the backend:
// out[i][k] for options[i][k]. False when the backend cannot score.
bool option_logprobs(Backend& backend, const std::vector<std::string>& prompts,
                     const std::vector<std::vector<std::string>>& options, std::vector<std::vector<double>>& out);

EvalResult evaluate(Backend& backend, const Task& task, const std::string& task_spec, const EvalSpec& spec);

// A task group (tasks/registry.h task_group: bbh:all): every member (each capped at n
// items, smaller ones whole), then the macro average with a stratified bootstrap CI.
// `on_member` sees each member's summary as it finishes.
EvalResult evaluate_group(Backend& backend, const std::string& group, const std::vector<std::string>& members,
                          const EvalSpec& spec, const std::function<void(const EvalSummary&)>& on_member = {});

}  // namespace elab
