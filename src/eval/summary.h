#pragma once
// The result of one evaluation, typed: what `elab eval --json` writes, what a study
// stores for an evaluation job, and what the report and the CLI read. Its JSON form is
// written and read here and nowhere else. Torch-free.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tasks/baselines.h"

namespace elab {

struct EvalMetrics {
  double extract_fail = 0;            // share of items with no extracted answer
  double char_accuracy = 0;           // per-character agreement with the gold answer
  double gold_chars = 0;              // mean length of the gold answers (Schaeffer's check: exact match vs char_accuracy^length)
  double edit_distance = 0;           // normalised edit distance to the gold answer
  double mean_generated_tokens = 0;
  double seconds = 0;
  double tokens_per_s = 0;
  std::optional<double> gold_logprob;           // teacher-forced; none when the backend cannot score
  std::optional<double> gold_logprob_per_char;
  int64_t extraction_disagreements = 0;         // items strict and lenient extraction score differently
};

struct EvalSummary {
  std::string task, split, method, model;
  int64_t n = 0;
  double accuracy = 0, ci_lo = 0, ci_hi = 0;
  std::string extraction = "strict";  // the headline's rule
  std::string extractor;              // its versioned id ("gsm8k-strict@1")
  double accuracy_strict = 0;
  std::optional<double> accuracy_lenient;  // only when lenient extraction was asked for
  // lm-evaluation-harness's flexible-extract (last number / last option), beside the strict rule
  std::optional<double> accuracy_flexible;
  // Likelihood-scored multiple choice (method mc:K): "likelihood", and acc_norm (the most
  // likely option per character) beside the headline acc; "generate" for every other method.
  std::string protocol = "generate";
  std::optional<double> accuracy_norm;
  EvalMetrics metrics;
  uint64_t seed = 1;
  std::string items_hash;
  std::vector<int> item_correct;                  // 1/0 per item, in item order
  std::vector<int64_t> extraction_disagreements;  // the audit: item indices
  std::vector<std::string> notes;
  // What answering without reading scores on these items (none in records from before).
  std::optional<TrivialBaselines> baselines;
  // A task group (bbh:all): the macro average over its members, each summarised.
  int64_t macro_average_of = 0;
  std::vector<EvalSummary> members;
};

nlohmann::ordered_json to_json(const EvalSummary& s);
// `where` names the source in errors ("study job 0123abcd", a file name).
EvalSummary eval_summary_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace elab
