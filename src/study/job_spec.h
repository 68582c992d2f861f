#pragma once
// The jobs of a study and their results, typed: one struct per job kind and one per
// result kind. Their JSON forms (what the job key hashes, what the results store holds)
// are written and read here and nowhere else; the planner writes the structs, the
// runner, the report and the CLI read them. Torch-free.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/settings.h"
#include "eval/summary.h"
#include "model/config.h"

namespace elab {

// A model shape as JSON (the keys of [[model]]) and back; pre-training specs hold it.
nlohmann::json shape_json(const ModelShape& shape);
ModelShape shape_of(const nlohmann::json& j);

// Pre-train a base model on a recipe.
struct PretrainJobSpec {
  std::string preset;                // a preset, or the [[model]] name when `shape` is set
  std::optional<ModelShape> shape;   // a [[model]] / [[sweep]] shape
  std::string recipe;
  uint64_t seed = 1;
  int64_t tokens = 0, batch = 32, seq_len = 128;
  double lr = 0;
  LossTokens loss = LossTokens::all;
  Precision precision = Precision::fp32;
  // The settings beyond these (study/pretrain_settings.h), checked, only those given:
  // the job key's "control" object, absent when empty.
  nlohmann::json settings = nlohmann::json::object();
  std::map<std::string, int> data_versions;           // the recipe's tasks: generator versions
  std::string recipe_hash;                            // of the recipe's canonical text (Recipe::describe)
  int64_t workers = 1;                                // batch-sharing threads (they fix the sum order)
};

// A base that exists outside the study: a model directory, an openai: endpoint, a
// replay: file. Nothing is trained; evaluation jobs take it as their model.
struct SourceJobSpec {
  std::string name;    // what the report calls it
  std::string model;   // the --model string
  std::string args;    // backend options "key=value,..." (backends/registry.h)
  // The seed of its evaluations' items and exemplars and its fine-tuning examples: one
  // source job per study seed, so a pretrained base has seeds to pool over as trained
  // ones do. 0: the study's seed (a study with one seed).
  uint64_t seed = 0;
};

// Fine-tune a base on the first n_train examples of a task's exemplar pool.
struct FinetuneJobSpec {
  std::string task, method;
  int64_t n_train = 0;
  uint64_t seed = 1;
  Precision precision = Precision::fp32;
  int task_version = 1;
  int64_t workers = 1;
  // The fine-tuning protocol's version: bumped whenever its defaults change (learning
  // rates, selection), so that the jobs they decide run again. 1: a validation slice
  // (before issue 19); 2: k-fold selection of the steps within the N (docs/FINETUNING.md);
  // 3: the rate searched with the steps, a pretrained base trained on its own tokens
  // (protocol 2 fed it byte ids), the training curve and the format check recorded.
  int protocol = kFinetuneProtocol;
  static constexpr int kFinetuneProtocol = 3;
  int64_t steps = 0, batch = 0, folds = 0;  // the [[finetune]] block's, 0 = the protocol's defaults
  // The block's other settings (train/finetune_settings.h: lr, rank, ...), in the key only
  // when there are any, so the keys of jobs that set none stay what they were.
  std::map<std::string, std::string> settings;
};

// Evaluate the parent's model with a method on a task split.
struct EvalJobSpec {
  std::string task, split, method;
  int64_t n = 0;
  uint64_t seed = 1;
  std::string extractor;  // the strict rule's versioned id
  int task_version = 1;   // a group's: the sum of its members' (any change re-runs it)
  int64_t snapshot = 0;   // > 0: the parent's snapshot at this step
  int64_t workers = 1;
  // The block's evaluation settings (eval/eval_settings.h: max_new_tokens, ...), in the
  // key only when there are any, so the keys of evaluations that set none stay.
  std::map<std::string, std::string> settings;
};

using JobSpec = std::variant<PretrainJobSpec, SourceJobSpec, FinetuneJobSpec, EvalJobSpec>;

// "pretrain", "source", "finetune", "eval".
std::string job_kind(const JobSpec& spec);
nlohmann::json to_json(const JobSpec& spec);
// `where` names the source in errors; keys missing in records of older studies take the
// values those studies ran with.
JobSpec job_spec_from_json(const std::string& kind, const nlohmann::json& j, const std::string& where);

struct PretrainOutcome {
  int64_t steps = 0, tokens = 0, parameters = 0;
  double train_loss = 0, heldout_loss = 0;
  nlohmann::json curves;  // train_log.jsonl's evaluations per step (report/curves.h reads them)
};

struct SourceOutcome {
  int64_t parameters = 0;  // counted from its config (0 for an endpoint or recorded predictions)
};

// "TASK[@SPLIT[@METHOD]]" of --eval-task and retention_tasks: split "" = the task's default, method "direct".
struct EvalTaskSpec {
  std::string task, split, method = "direct";
};
EvalTaskSpec parse_eval_task(const std::string& spec);

struct FinetuneOutcome {
  std::string method, task, format;
  int64_t n_train = 0, n_validation = 0, steps_done = 0, best_step = 0, trainable_parameters = 0;
  double lr = 0, val_loss_before = 0, val_loss_best = 0, seconds = 0;
  // The fine-tuned model on its own training prompts (study/finetune_job.cpp): the share
  // answered in format and correctly; -1 in records from before protocol 3.
  double train_answered = -1, train_accuracy = -1;
  std::string selection_edge;  // why the selection's choice is at an edge of its range; "" inside
  std::string base_hash;
  nlohmann::json config;  // the whole fine-tuning record as written to meta.json (for reading, not for keys)
};

using JobResult = std::variant<std::monostate, PretrainOutcome, SourceOutcome, FinetuneOutcome, EvalSummary>;

nlohmann::json to_json(const JobResult& result);
JobResult job_result_from_json(const std::string& kind, const nlohmann::json& j, const std::string& where);

// The records of a finished study job, typed; the results store reads and writes them.
struct JobRecord {
  std::string key, kind, group, parent;
  JobSpec spec;
  std::string status;  // "done" or "failed"
  std::string error;   // failed: the message
  JobResult result;    // done: what the job produced
  double seconds = 0;

  const PretrainJobSpec* pretrain() const { return std::get_if<PretrainJobSpec>(&spec); }
  const SourceJobSpec* source() const { return std::get_if<SourceJobSpec>(&spec); }
  const FinetuneJobSpec* finetune() const { return std::get_if<FinetuneJobSpec>(&spec); }
  const EvalJobSpec* eval() const { return std::get_if<EvalJobSpec>(&spec); }
  const EvalSummary* summary() const { return std::get_if<EvalSummary>(&result); }
  const PretrainOutcome* pretrained() const { return std::get_if<PretrainOutcome>(&result); }
  const SourceOutcome* sourced() const { return std::get_if<SourceOutcome>(&result); }
};

// "s/add/s1" for a pre-training job, the source's name for a source.
std::string base_label(const JobSpec& base);

}  // namespace elab
