#pragma once
// Fine-tuning a base model on a small labelled set: all weights ("full"), a LoRA adapter
// ("lora") or prefix-tuning ("prefix"). Only the chosen parameters are trained (the rest
// are frozen, and the optimiser holds state for the trained ones only). With a
// validation set, its loss picks the best step (early stopping) and those weights are
// kept; without one, the run takes exactly `steps` steps. The study's protocol (k-fold
// within the N examples, then a refit on all N) is built from the two in study/stages.cpp.
#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/settings.h"
#include "model/adapters.h"
#include "train/adamw.h"
#include "train/data.h"
#include "train/distributed.h"

namespace elab {

struct FinetuneConfig {
  std::string method = "lora";  // full | lora | prefix
  int64_t steps = 300;          // at most this many optimiser steps
  int64_t batch_size = 16;
  int64_t seq_len = 64;         // rows are padded (and masked) to this length
  double lr = 0;                // 0: the method's default (see default_finetune_lr)
  int64_t warmup_steps = 10;
  int64_t eval_every = 10;      // validation loss every N steps
  int64_t patience = 10;        // stop after this many evaluations without improvement
  // Model selection within the N examples: k-fold cross-validation picks the number of
  // steps (the lowest mean held-out loss), then a refit on all N runs that many. 1: no
  // selection, `steps` steps on all N. At most N folds (leave-one-out).
  int64_t folds = 4;
  // With folds > 1, the selection also searches the learning rate: this many rates a
  // half-decade apart, centred on `lr` (or the method's default), one more beyond an end
  // the choice lands on (study/finetune_job.cpp). 1: the rate as given.
  int64_t lr_search = 3;
  // Each training row a k-shot prompt: this many other training examples rendered before
  // the example, the loss on its answer alone (Bornschein et al. 2025, "Fine-tuned
  // in-context learners"). 0: the example alone. The study's fine-tuning job builds the rows.
  int64_t train_shots = 0;
  int64_t stop_at = 0;  // > 0: stop after this step, on the schedule of `steps` (a refit after selection)
  double grad_clip = 1.0;
  double weight_decay = 0.0;
  uint64_t seed = 1;            // adapter init, row order, dropout
  int64_t workers = 1;          // threads sharing each batch (TrainConfig::workers; 1 with LoRA dropout)
  Precision precision = Precision::fp32;  // of the matrix products (TrainConfig::precision)
  LoraConfig lora;
  PrefixConfig prefix;

  void validate() const;
  nlohmann::json to_json() const;
  // The learning rate it trains at: `lr`, or the method's default when lr is 0 (the one
  // place that rule is written).
  double learning_rate() const;
};

// A prefix encoder cannot share a batch between threads (it writes the prefix into the
// attention layers on every forward pass, so train_step runs it on one thread). For the
// guard's lifetime its matrix products get the `workers` cores instead.
class PrefixThreads {
 public:
  PrefixThreads(const std::string& method, int64_t workers);
  ~PrefixThreads();
  PrefixThreads(const PrefixThreads&) = delete;
  PrefixThreads& operator=(const PrefixThreads&) = delete;

 private:
  int workers_ = 1;  // > 1: the settings to restore
};

// A fine-tuning method: what it trains, its settings and how its result is saved. Each is
// one file under train/finetune_methods/ returning its entry, and one line in the table
// of finetune.cpp.
struct FinetuneMethod {
  std::string name, description;
  double default_lr = 1e-2;  // chosen on dev data (docs/FINETUNING.md)
  // Checks the method's own settings (the shared ones are FinetuneConfig::validate's).
  std::function<void(const FinetuneConfig&)> validate;
  // Checks the settings against the base (a prefix must fit its context); null = none.
  std::function<void(const FinetuneConfig&, const ModelConfig&)> check_base;
  // Its settings in meta.json ("lora": {...}); null = none.
  std::function<nlohmann::json(const FinetuneConfig&)> settings;
  // Adds what it trains to a frozen base (LoRA matrices, a prefix encoder); null: every
  // weight of the base is trained.
  std::function<void(Transformer&, const FinetuneConfig&)> attach;
  // Threads that may share a batch given `workers` (dropout draws from one generator).
  std::function<int64_t(const FinetuneConfig&)> batch_workers;
  // The matrix products, not the batch, get the cores (a prefix encoder runs on one thread).
  bool threads_to_products = false;
  // PEFT's adapter_config.json for the result, or null: a full checkpoint is saved.
  std::function<nlohmann::json(const FinetuneConfig&, const ModelConfig&)> adapter_config;
};

const std::vector<FinetuneMethod>& finetune_method_registry();
// Adds a method at run time (a test's dummy method; the built-in ones are the lines of
// table() in finetune.cpp).
void register_finetune_method(FinetuneMethod method);
// An Error listing the registered names when `name` is not one of them.
const FinetuneMethod& find_finetune_method(const std::string& name);
std::vector<std::string> finetune_methods();
double default_finetune_lr(const std::string& method);

FinetuneMethod full_finetune_method();
FinetuneMethod lora_finetune_method();
FinetuneMethod prefix_finetune_method();

struct FinetuneResult {
  int64_t steps_done = 0;
  int64_t best_step = 0;
  double best_val_loss = 0;
  double first_val_loss = 0;  // before any step: the base model's
  std::vector<std::pair<int64_t, double>> val_curve;  // (step, validation loss), step 0 first; empty without validation
  std::vector<std::pair<int64_t, double>> train_curve;  // (step, training loss) of every step
  double seconds = 0;
  int64_t trainable_parameters = 0;
  int64_t optimizer_bytes = 0;
  std::string log;            // train_log.jsonl
};

// Prepares `model` for the method: freezes the base, attaches the adapter.
// Returns the parameters to train, with their names.
std::vector<std::pair<std::string, torch::Tensor>> prepare_finetune(Transformer& model, const FinetuneConfig& cfg);

// Fine-tunes `model` (prepared by prepare_finetune) on `train`. With `val` (scored as
// `val_rows` rows in one pass) the model ends with the weights of the step of lowest
// validation loss; with val = nullptr, with its weights after cfg.steps steps. A prefix
// encoder is then replaced by its fixed prefixes.
FinetuneResult finetune(Transformer& model, const std::vector<std::pair<std::string, torch::Tensor>>& trainable,
                        const TokenStream& train, const TokenStream* val, int64_t val_rows, const FinetuneConfig& cfg,
                        const std::string& label, DataParallel* dist = nullptr);

}  // namespace elab
