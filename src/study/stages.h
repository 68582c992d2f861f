#pragma once
// The three stages every command and every study job runs through: pre-train a model on
// a recipe, fine-tune a base on a task's examples, evaluate a model with a method on a
// task split. `train`, `finetune`, `eval`, `quickstart` and the study runner call these,
// so the command line and the studies cannot drift apart. No printing of results here:
// that is the CLI's (cli/common.h).
#include <optional>
#include <string>

#include "backends/registry.h"
#include "core/settings.h"
#include "eval/evaluate.h"
#include "study/job_spec.h"
#include "tasks/recipe.h"
#include "train/finetune.h"
#include "train/trainer.h"

namespace elab {

// Data-parallel settings of a train or fine-tune job. The ranks themselves come from
// torchrun's environment variables (WORLD_SIZE, RANK, ...); `elab ... --nproc N` sets them.
struct DistJobOptions {
  std::string backend = "gloo";  // gloo (CPU) or nccl (CUDA builds)
  double timeout_seconds = 120;  // a rank silent for longer ends the job with an error
};

// The job's ranks (null when it runs as one process), and this process's local rank
// (-1 without ranks): what the train and fine-tune stages share.
std::unique_ptr<DataParallel> join_ranks(const DistJobOptions& o);
int local_rank(const DataParallel* dist);

struct TrainJob {
  std::string preset = "s";  // the shape's starting point unless `shape` names another
  ModelShape shape;          // knobs over the preset (model/config.h)
  std::string model_name;    // "" = the preset's or the shape's name (a study's [[model]] name)
  std::string recipe = "add";
  int64_t tokens = 0;        // the run's length (or `epochs` over a fixed training set)
  std::string out;
  uint64_t seed = 1;
  bool resume = false;
  std::string device = "cpu";
  int64_t batch_size = 32;
  int64_t seq_len = 128;
  int64_t grad_accum = 1;
  double lr = 0;             // 0: the preset's
  int64_t warmup_steps = -1; // -1: 5% of the steps, at most 200
  int64_t eval_every = 0;    // 0: about 20 held-out evaluations per run
  int64_t stop_after = 0;
  bool keep_optimizer = false;
  LossTokens loss = LossTokens::all;  // all tokens, or only the answers after "A:"
  // Optimiser and schedule (< 0 = the default of TrainConfig / AdamWConfig).
  std::string optimizer = "adamw";  // adamw or sgd
  double weight_decay = -1, beta1 = -1, beta2 = -1, grad_clip = -1, min_lr_ratio = -1, momentum = -1;
  std::string schedule = "cosine";
  std::string output = "softmax";  // softmax or stablemax (TrainConfig::output)
  // Data regime: the infinite stream (0), or a fixed set of N examples drawn once from the
  // recipe's one task's training pool, each a row with its answer in the loss; `epochs`
  // passes over it (instead of `tokens`); batch_size kBatchAll = the whole set each step.
  int64_t train_examples = 0;
  int64_t epochs = 0;
  // Task accuracy during training: specs TASK[@SPLIT[@METHOD]], each on eval_n fixed items
  // at every held-out evaluation; and snapshots kept at chosen steps.
  std::vector<std::string> eval_tasks;
  int64_t eval_n = 100;
  std::vector<int64_t> save_at;
  int64_t save_every = 0;
  int64_t workers = 1;       // threads sharing each batch (TrainConfig::workers)
  Precision precision = Precision::fp32;  // of the matrix products (TrainConfig::precision)
  DistJobOptions dist;
};

constexpr int64_t kBatchAll = -1;  // --batch all

// The fixed training set of --train-examples: n distinct problems of the task's training
// pool (never a test item: pools are disjoint by construction), drawn from `seed`.
std::vector<Example> fixed_training_set(const Task& task, int64_t n, uint64_t seed);

// A fixed training set of a one-task recipe as the trainer reads it: those n examples
// one a row, shuffled each pass, only the answer in the loss; up to 64 problems of the
// exemplar pool for the held-out loss; rows as long as the longest example of either.
struct FixedSetStreams {
  std::vector<Example> examples;
  std::unique_ptr<TokenStream> train, heldout;
  int64_t seq_len = 0;
};
FixedSetStreams fixed_set_streams(const Recipe& recipe, int64_t n, uint64_t seed);

TrainResult run_train_job(const TrainJob& job);

// The "evals" of each step of a run's train_log.jsonl: [{"step", "evals"}, ...].
nlohmann::json training_curves(const std::string& run_dir);

// Fine-tune a base on the first N examples of a task's exemplar pool: with the same seed,
// the K exemplars of icl:K are the first K of these N.
struct FinetuneJob {
  std::string base;
  std::string task;
  int64_t n_train = 0;
  std::string out;
  std::string format = "direct";
  std::string device = "cpu";
  std::string lora_targets = "q,v";
  bool overwrite = false;
  DistJobOptions dist;
  FinetuneConfig config;  // method, seed, steps, ... (lr 0 = the method's default)
};

struct FinetuneJobResult {
  FinetuneResult run;
  FinetuneOutcome outcome;  // what a study records (study/job_spec.h)
  int64_t n_train = 0;  // every one of the N
  int64_t folds = 1;    // of the step selection (1: none)
  nlohmann::json meta;
  bool main_rank = true;  // false on data-parallel ranks other than 0, which write nothing
};

FinetuneJobResult run_finetune_job(FinetuneJob job);

struct EvalJob {
  std::string model;
  std::string task;
  EvalSpec spec;
  std::string device = "cpu";
  std::string json_path;     // "" = none
  std::string samples_path;  // "" = none
  bool skip_bad = false;     // skip malformed JSONL lines of file tasks
  int64_t workers = 1;       // native: threads sharing each batch
  BackendArgs backend;       // the backend's own options (backends/registry.h); device and workers added for native
  std::function<void(const EvalSummary&)> on_member;  // a task group: each member's summary as it finishes
};

EvalResult run_eval_job(const EvalJob& job);


}  // namespace elab
