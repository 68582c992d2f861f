#pragma once
// A study: one TOML file (docs/STUDY_FORMAT.md) naming the base models to pre-train, the
// prompting evaluations, and the fine-tuning runs with their evaluations. Torch-free.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/settings.h"
#include "model/config.h"
#include "study/job_spec.h"
#include "study/reproduce.h"

namespace elab {

struct EvalBlock {
  std::vector<std::string> tasks, splits, methods;
  bool snapshots = false;  // also evaluate every [pretrain] save_at snapshot (a training-step axis)
  int64_t n = 0;  // 0: the task's default (a file's whole test set, else 200); -1: "all"
  std::vector<std::string> retention_tasks;  // fine-tuning blocks only
  std::vector<std::string> models;  // the bases it applies to, by name (empty: every base)
  // The settings of eval/eval_settings.h the block gives, as text (every evaluation of it).
  std::map<std::string, std::string> settings;
};

struct FinetuneBlock {
  std::vector<std::string> tasks, methods;  // methods: full, lora, prefix
  std::vector<int64_t> n_train;
  EvalBlock evaluate;
  std::vector<std::string> models;  // the bases it fine-tunes, by name (empty: every base)
  // The protocol's settings, 0 = its defaults (docs/FINETUNING.md): at most `steps` steps
  // of `batch` examples, the steps chosen by `folds`-fold cross-validation within the N.
  int64_t steps = 0, batch = 0, folds = 0;
  // Every other setting of train/finetune_settings.h the block sets (lr, rank, ...), as text.
  std::map<std::string, std::string> settings;
};

// A base model that is not a preset: a [[model]] table, or one rung of a [[sweep]].
struct ModelEntry {
  std::string name;  // [[model]] name, else the shape's name (model/config.h resolve_model)
  ModelShape shape;
  // Its own pre-training, over [pretrain]'s: lr, tokens and batch (0: [pretrain]'s) and any
  // setting of study/pretrain_settings.h (weight_decay, output, epochs, ...), checked. A
  // reproduction's grid over training settings is one [[model]] (or [[sweep]] rung) each.
  double lr = 0;
  int64_t tokens = 0, batch = 0;
  nlohmann::json settings = nlohmann::json::object();
};

// A base that exists outside the study ([[model]] with `source`): a model directory, an
// openai: endpoint or a replay: file. Evaluated as it is; never pre-trained.
struct SourceEntry {
  std::string name;
  std::string model;  // the --model string
  std::string args;   // the backend's options, "key=value,..."
};

// A [[results]] block: others' results imported into the study's database and analysed
// beside its own evaluations (results/importers.h).
struct ResultsBlock {
  std::string where;      // "[[results]] 2" for messages
  std::string importer;   // lm-eval | csv | ...
  std::vector<std::string> paths;  // resolved: `paths` against the study file, `data` against the data root
  std::string mapping, meta;       // resolved against the study file
};

struct StudySpec {
  std::string name;
  std::string path;                 // the TOML file
  std::string dir;                  // models and the default database: studies/<name>
  uint64_t seed = 1;                // evaluation items, exemplars, fine-tuning examples
  std::vector<uint64_t> seeds = {1};  // pre-training seeds per base model
  std::vector<std::string> presets, recipes;
  std::vector<ModelEntry> models;   // [[model]] tables and [[sweep]] rungs, after the presets
  std::vector<SourceEntry> sources; // [[model]] tables with `source`: bases from outside the study
  // Batch-sharing threads of every job ([study] workers): they fix the order of sums, so
  // they are part of every job key; --jobs J runs J jobs of this many threads each.
  int64_t workers = 2;
  // The settings of every pre-training job beyond the basics below ([pretrain] keys of
  // study/pretrain_settings.h), checked. Only keys the file gives are here, so the job
  // keys of studies without them stay.
  nlohmann::json pretrain_settings = nlohmann::json::object();
  int64_t tokens = 1000000;
  int64_t batch = 32, seq_len = 128;
  double lr = 0;                    // 0: the preset's
  LossTokens loss = LossTokens::all;
  Precision precision = Precision::fp32;  // of the matrix products (pre-training and fine-tuning)
  std::vector<EvalBlock> evaluate;
  std::vector<FinetuneBlock> finetune;
  // [pretrain] shipped: a directory of shipped bases (study/shipped.h), relative to the
  // study file; pre-training jobs install them instead of training ("" = train).
  std::string shipped;
  std::vector<ResultsBlock> results;  // [[results]] blocks
  std::optional<ReproduceSpec> reproduce;  // [reproduce]: the study reproduces a published result
  // A study of imported results alone: no bases, no jobs.
  bool results_only() const { return evaluate.empty() && finetune.empty() && !results.empty(); }
};

// The steps a base keeps snapshots at: its [[model]]'s own save_at, else [pretrain]'s
// (empty when neither gives one). The planner evaluates these snapshots; a reproduction's
// step=N cell must name one of them.
std::vector<int64_t> snapshot_steps(const StudySpec& s, const std::string& base_name);

// Errors name the file, the line and the key.
StudySpec parse_study(const std::string& text, const std::string& path);
StudySpec load_study(const std::string& path);

}  // namespace elab
