#pragma once
// The training loop, for pre-training and (later) fine-tuning: AdamW, warm-up + cosine,
// gradient clipping and accumulation, periodic held-out loss, a JSONL log, atomic
// checkpoints and exact resume.
#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/settings.h"
#include <vector>

#include "core/fs.h"
#include "model/transformer.h"
#include "train/adamw.h"
#include "train/data.h"
#include "train/distributed.h"
#include "train/schedule.h"

namespace elab {

// The function that turns logits into the probabilities the loss is taken on. "stablemax"
// (Prieto et al. 2025, "Grokking at the edge of numerical stability"): s(x) = x + 1 for
// x >= 0 and 1 / (1 - x) below, normalised like softmax's exp. It grows linearly, not
// exponentially, so a model that has fit its training set cannot drive the loss into
// float32's rounding ("softmax collapse") by scaling its logits. Both are monotonic, so
// greedy decoding and likelihood ranking are the same; only training differs.
enum class OutputFunction { softmax, stablemax };
OutputFunction parse_output_function(const std::string& text, const std::string& what = "--output");
const char* output_function_name(OutputFunction f);

struct TrainConfig {
  int64_t batch_size = 32;        // sequences per optimiser step
  int64_t seq_len = 128;          // tokens per sequence
  int64_t grad_accum = 1;         // micro-batches per step (batch_size must divide evenly)
  int64_t steps = 1000;           // optimiser steps in the whole run
  double lr = 3e-3;               // peak learning rate
  double min_lr_ratio = 0.1;      // floor of the decay, as a fraction of lr
  int64_t warmup_steps = 50;
  std::string schedule = "cosine";  // cosine, linear or constant after the warm-up
  double grad_clip = 1.0;         // max global gradient norm; 0 disables
  AdamWConfig adamw;
  uint64_t seed = 1;              // data order (the model's init seed is separate)
  int64_t eval_every = 100;       // held-out loss every N steps (and at the end)
  int64_t eval_batches = 4;       // batches of the held-out stream per evaluation
  double checkpoint_minutes = 5;  // periodic checkpoints during long runs
  int64_t stop_after = 0;         // >0: checkpoint and stop after this step (as if interrupted)
  bool keep_optimizer = false;    // keep optimizer state in the final checkpoint
  // Threads that share each micro-batch's rows, each running forward and backward on its
  // rows with single-threaded operations; their gradients are summed in a fixed order.
  // One thread per core keeps every core busy through the element-wise and softmax work
  // that one thread per operation leaves half idle. Results depend on this count (as on
  // any change of summation order), not on timing.
  int64_t workers = 1;
  // "fp32", or "bf16": matrix products of the training passes in bfloat16 through
  // libtorch's CPU autocast (weights, optimizer, norms, softmax and loss stay fp32).
  // Measured here (AVX-512 BF16): bf16 products ~4.5x fp32's, training l 1.7x, xl 2.2x,
  // held-out loss within 2% of fp32 along the run (docs/PERFORMANCE.md).
  Precision precision = Precision::fp32;
  OutputFunction output = OutputFunction::softmax;  // of the training and held-out loss

  void validate() const;
  nlohmann::json to_json() const;
};

struct TrainResult {
  std::string model_name;    // from the run's meta ("preset")
  int64_t steps_done = 0;
  int64_t tokens_seen = 0;
  double train_loss = 0;     // mean over the last logged window
  double heldout_loss = 0;   // at the end
  double seconds = 0;        // this run only (not earlier runs before a resume)
  double tokens_per_second = 0;
  bool complete = false;     // false when stopped early (stop_after or a signal)
  bool main_rank = true;     // false on data-parallel ranks other than 0 (they write nothing)
};

// Task evaluations during training: called at every held-out evaluation (and the last
// step) with the model in place; returns {"name": {accuracy, ci95, ...}, ...} for the log.
// Built above the trainer (study/stages.cpp), where the evaluator lives.
using StepEvaluator = std::function<nlohmann::json(Transformer& model, int64_t step)>;

struct TrainRun {
  fs::path out_dir;            // checkpoint directory (also holds train_log.jsonl)
  nlohmann::json meta;         // written into meta.json; steps and tokens are added
  bool resume = false;
  std::string label = "train"; // progress bar label
  // Data-parallel: each rank trains on its rows of every batch and gradients are summed;
  // rank 0 alone reads and writes the checkpoint and the log. nullptr = one process.
  DataParallel* dist = nullptr;
  StepEvaluator evaluate_tasks;  // null: none
  // Snapshots: full checkpoints kept at these steps, in out_dir/snapshots/step-NNNNNNN.
  std::vector<int64_t> save_at;
  int64_t save_every = 0;      // and every N steps (0: off)
};

// Where the snapshot of `step` goes.
fs::path snapshot_dir(const fs::path& out_dir, int64_t step);

// Errors early when run.out_dir cannot be used: a checkpoint is there and resume is off,
// or resume is on and there is nothing to resume. train() calls it too.
void check_run_dir(const TrainRun& run);

// Trains `model` in place. With run.resume, loads model, optimizer and step from
// run.out_dir first (the config must match the one the checkpoint was trained with).
TrainResult train(Transformer& model, const TokenStream& data, const TokenStream& heldout, const TrainConfig& config,
                  const TrainRun& run);

// Mean loss over `batches` batches of `stream` (no gradients). With `dist`, the ranks
// share the batches out and every rank returns the same mean.
double evaluate_loss(Transformer& model, const TokenStream& stream, int64_t batches, int64_t rows, int64_t seq_len,
                     DataParallel* dist = nullptr, OutputFunction output = OutputFunction::softmax);

// Loss of one batch (sum over counted targets / `normaliser`), used by the loop and tests;
// with precision "bf16" the forward pass runs under bf16 autocast.
torch::Tensor batch_loss(Transformer& model, const TokenBatch& batch, int64_t row_begin, int64_t rows, double normaliser,
                         Precision precision = Precision::fp32, OutputFunction output = OutputFunction::softmax);

// Summed cross-entropy of `targets` (-100: not counted) under logits (N, V) turned into
// probabilities by `output`.
torch::Tensor cross_entropy_sum(const torch::Tensor& logits, const torch::Tensor& targets, OutputFunction output);

// One optimiser step on `batch` (split into cfg.grad_accum micro-batches); returns the
// loss. Shared by the training loop and the benchmark, so both time the same work.
// With `dist`, `batch` is this rank's rows of the global batch: the loss is normalised
// by the global count of targets and gradients are summed over ranks before clipping,
// so every rank takes the same step as one process on the whole batch.
struct StepStats {
  double loss = 0;          // of the whole (global) batch
  double grad_norm = 0;
  bool interrupted = false; // SIGINT/SIGTERM reached this process or, with dist, any rank
};
StepStats train_step(Transformer& model, AdamW& optimizer, const TokenBatch& batch, const TrainConfig& cfg, double lr,
                     DataParallel* dist = nullptr);

// This rank's rows of a global batch of `batch_rows`: [first, first + count).
struct RowShare {
  int64_t first = 0, count = 0;
};
RowShare rank_rows(int64_t batch_rows, int64_t grad_accum, const DataParallel* dist);

// Forward + backward FLOPs per token (6N plus attention), for tokens/s -> GFLOP/s.
double train_flops_per_token(const ModelConfig& c, int64_t seq_len);

// SIGINT/SIGTERM during train(): the loop checkpoints after the current step and stops.
void install_interrupt_handler();
bool interrupt_requested();  // a SIGINT/SIGTERM arrived since install_interrupt_handler()

}  // namespace elab
