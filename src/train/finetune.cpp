#include "train/finetune.h"

#include <chrono>

#include "core/error.h"
#include "core/names.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/threads.h"
#include "train/schedule.h"
#include "train/trainer.h"

namespace elab {

static std::vector<FinetuneMethod>& table() {
  // One line per method.
  static std::vector<FinetuneMethod> methods = {
      full_finetune_method(),
      lora_finetune_method(),
      prefix_finetune_method(),
  };
  return methods;
}

const std::vector<FinetuneMethod>& finetune_method_registry() { return table(); }

void register_finetune_method(FinetuneMethod method) {
  check(!method.name.empty() && method.validate, "a fine-tuning method needs a name and a validate function");
  for (const auto& m : table()) check(m.name != method.name, "fine-tuning method {} is already registered", method.name);
  table().push_back(std::move(method));
}

std::vector<std::string> finetune_methods() {
  std::vector<std::string> names;
  for (const auto& m : finetune_method_registry()) names.push_back(m.name);
  return names;
}

const FinetuneMethod& find_finetune_method(const std::string& name) {
  for (const auto& m : finetune_method_registry())
    if (m.name == name) return m;
  fail_unknown("fine-tuning method", name, finetune_methods());
}

double default_finetune_lr(const std::string& method) { return find_finetune_method(method).default_lr; }

double FinetuneConfig::learning_rate() const { return lr > 0 ? lr : default_finetune_lr(method); }

PrefixThreads::PrefixThreads(const std::string& method, int64_t workers) {
  if (!find_finetune_method(method).threads_to_products || workers <= 1) return;
  workers_ = int(workers);
  configure_threads({1, workers_, 1});
}

PrefixThreads::~PrefixThreads() {
  if (workers_ > 1) configure_threads({1, 1, workers_});
}

void FinetuneConfig::validate() const {
  const FinetuneMethod& m = find_finetune_method(method);
  check(steps > 0, "--steps must be positive, got {}", steps);
  check(batch_size > 0, "--batch must be positive, got {}", batch_size);
  check(lr >= 0, "--lr must be positive, got {}", lr);
  check(eval_every > 0 && patience > 0, "--eval-every and --patience must be positive");
  check(stop_at >= 0, "stop_at must not be negative");
  check(folds >= 1, "--folds must be at least 1 (1: no model selection), got {}", folds);
  check(lr_search >= 1 && lr_search <= 9, "--lr-search must be 1 to 9 rates, got {}", lr_search);
  check(train_shots >= 0 && train_shots <= 64, "--train-shots must be 0 to 64 examples, got {}", train_shots);
  if (m.validate) m.validate(*this);
}

nlohmann::json FinetuneConfig::to_json() const {
  nlohmann::json j = {{"method", method},         {"steps", steps},           {"batch_size", batch_size},
                      {"seq_len", seq_len},       {"lr", lr},                 {"warmup_steps", warmup_steps},
                      {"eval_every", eval_every}, {"patience", patience},     {"grad_clip", grad_clip},
                      {"weight_decay", weight_decay}, {"seed", seed}, {"folds", folds},
                      {"lr_search", lr_search}};
  if (const auto& m = find_finetune_method(method); m.settings) j.update(m.settings(*this));
  if (precision != Precision::fp32) j["precision"] = precision_name(precision);
  if (train_shots > 0) j["train_shots"] = train_shots;
  return j;
}

std::vector<std::pair<std::string, torch::Tensor>> prepare_finetune(Transformer& model, const FinetuneConfig& cfg) {
  cfg.validate();
  const FinetuneMethod& m = find_finetune_method(cfg.method);
  if (!m.attach) {  // every weight, also of a model an earlier adapter froze
    auto all = named_weights(*model);
    for (auto& [name, p] : all) p.set_requires_grad(true);
    return all;
  }
  for (auto& [name, p] : named_weights(*model)) p.set_requires_grad(false);
  m.attach(model, cfg);
  std::vector<std::pair<std::string, torch::Tensor>> trainable;
  for (auto& [name, p] : named_weights(*model))
    if (p.requires_grad()) trainable.emplace_back(name, p);
  return trainable;
}

FinetuneResult finetune(Transformer& model, const std::vector<std::pair<std::string, torch::Tensor>>& trainable,
                        const TokenStream& train, const TokenStream* val, int64_t val_rows, const FinetuneConfig& cfg,
                        const std::string& label, DataParallel* dist) {
  cfg.validate();
  const RowShare share = rank_rows(cfg.batch_size, 1, dist);
  const double lr = cfg.learning_rate();
  AdamWConfig opt_cfg;
  opt_cfg.weight_decay = cfg.weight_decay;
  AdamW optimizer(trainable, opt_cfg);
  LrSchedule schedule{lr, 0.1, std::min(cfg.warmup_steps, cfg.steps / 4), cfg.steps};
  TrainConfig step_cfg;
  step_cfg.batch_size = cfg.batch_size;
  step_cfg.seq_len = cfg.seq_len;
  step_cfg.grad_clip = cfg.grad_clip;
  step_cfg.precision = cfg.precision;
  // Dropout draws from the global generator: threads would take its numbers in any order.
  const FinetuneMethod& method = find_finetune_method(cfg.method);
  step_cfg.workers = method.batch_workers ? method.batch_workers(cfg) : cfg.workers;
  PrefixThreads prefix_threads(cfg.method, cfg.workers);

  FinetuneResult result;
  for (const auto& [name, p] : trainable) result.trainable_parameters += p.numel();
  auto val_loss = [&] { return val ? evaluate_loss(model, *val, 1, val_rows, cfg.seq_len, dist) : 0.0; };
  // The weights of the best step so far (by validation loss), restored at the end.
  auto snapshot = [&] {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> copy;
    for (const auto& [name, p] : trainable) copy.push_back(p.detach().clone());
    return copy;
  };
  result.first_val_loss = result.best_val_loss = val_loss();
  if (val) result.val_curve.emplace_back(0, result.first_val_loss);
  std::vector<torch::Tensor> best = val ? snapshot() : std::vector<torch::Tensor>{};

  model->train();
  Progress progress(label, cfg.steps, dist == nullptr || dist->is_main());
  TokenBatch batch;
  auto t0 = std::chrono::steady_clock::now();
  int64_t since_best = 0, step = 0;
  if (val) result.log += nlohmann::json({{"step", 0}, {"val_loss", result.first_val_loss}}).dump() + "\n";
  const int64_t last = cfg.stop_at > 0 ? std::min(cfg.stop_at, cfg.steps) : cfg.steps;
  while (step < last) {
    train.read_rows(step, cfg.batch_size, share.first, share.count, cfg.seq_len, batch);
    const double step_lr = schedule.at(step);
    StepStats stats = train_step(model, optimizer, batch, step_cfg, step_lr, dist);
    check(!stats.interrupted, "interrupted at fine-tuning step {}; nothing was written", step);
    ++step;
    result.train_curve.emplace_back(step, stats.loss);
    nlohmann::json entry = {{"step", step}, {"loss", stats.loss}, {"lr", step_lr}, {"grad_norm", stats.grad_norm}};
    if (val && (step % cfg.eval_every == 0 || step == last)) {
      const double v = val_loss();
      entry["val_loss"] = v;
      result.val_curve.emplace_back(step, v);
      if (v < result.best_val_loss) {
        result.best_val_loss = v;
        result.best_step = step;
        best = snapshot();
        since_best = 0;
      } else {
        ++since_best;
      }
    }
    result.log += entry.dump() + "\n";
    progress.update(step, val ? fmt::format("loss {:.3f} best val {:.3f} @{}", stats.loss, result.best_val_loss, result.best_step)
                              : fmt::format("loss {:.3f}", stats.loss));
    if (since_best >= cfg.patience) break;  // early stopping
  }
  progress.finish();
  result.steps_done = step;
  if (!val) result.best_step = step;  // no selection: the last step's weights
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.optimizer_bytes = optimizer.state_bytes();
  if (val) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < trainable.size(); ++i) trainable[i].second.copy_(best[i]);
  }
  model->eval();
  for (auto& [name, p] : named_weights(*model)) p.set_requires_grad(false);
  if (model->prefix_encoder) freeze_prefix(model);
  return result;
}

}  // namespace elab
