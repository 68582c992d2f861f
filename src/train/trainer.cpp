#include "train/trainer.h"

#include <ATen/autocast_mode.h>

#include <csignal>
#include <algorithm>
#include <fstream>
#include <optional>

#include "core/error.h"
#include "core/hash.h"
#include "core/progress.h"
#include "core/threads.h"
#include "model/checkpoint.h"

namespace elab {

static volatile std::sig_atomic_t g_interrupted = 0;
static void on_signal(int) { g_interrupted = 1; }

void install_interrupt_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupt_requested() { return g_interrupted != 0; }

void TrainConfig::validate() const {
  check(batch_size > 0, "batch size must be positive, got {}", batch_size);
  check(seq_len > 0, "sequence length must be positive, got {}", seq_len);
  check(grad_accum > 0 && batch_size % grad_accum == 0,
        "gradient accumulation {} must be positive and divide the batch size {}", grad_accum, batch_size);
  check(steps > 0, "the number of training steps must be positive, got {} (is --tokens too small?)", steps);
  check(lr > 0, "learning rate must be positive, got {}", lr);
  check(warmup_steps >= 0, "warm-up steps must be >= 0, got {}", warmup_steps);
  check(eval_every > 0 && eval_batches > 0, "held-out evaluation interval and batches must be positive");
  check_schedule_kind(schedule);
  check(min_lr_ratio >= 0 && min_lr_ratio <= 1, "--min-lr-ratio must lie in [0, 1], got {}", min_lr_ratio);
  check(grad_clip >= 0, "--grad-clip must be >= 0 (0 = off), got {}", grad_clip);
  check(adamw.kind == "adamw" || adamw.kind == "sgd", "--optimizer must be adamw or sgd, got '{}'", adamw.kind);
  check(adamw.weight_decay >= 0, "--weight-decay must be >= 0, got {}", adamw.weight_decay);
  check(adamw.beta1 >= 0 && adamw.beta1 < 1 && adamw.beta2 >= 0 && adamw.beta2 < 1,
        "--betas must lie in [0, 1), got {},{}", adamw.beta1, adamw.beta2);
  check(adamw.momentum >= 0 && adamw.momentum < 1, "--momentum must lie in [0, 1), got {}", adamw.momentum);
}

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json j = {{"batch_size", batch_size}, {"seq_len", seq_len},   {"grad_accum", grad_accum},
          {"steps", steps},           {"lr", lr},             {"min_lr_ratio", min_lr_ratio},
          {"warmup_steps", warmup_steps}, {"grad_clip", grad_clip}, {"beta1", adamw.beta1},
          {"beta2", adamw.beta2},     {"eps", adamw.eps},     {"weight_decay", adamw.weight_decay},
          {"seed", seed}};
  if (precision != Precision::fp32) j["precision"] = precision_name(precision);  // absent = fp32, as in checkpoints from before bf16
  // Absent = the defaults, so checkpoints from before these options resume as they are.
  if (schedule != "cosine") j["schedule"] = schedule;
  if (adamw.kind != "adamw") j["optimizer"] = adamw.kind, j["momentum"] = adamw.momentum;
  return j;
}

double train_flops_per_token(const ModelConfig& c, int64_t seq_len) {
  // 6 FLOPs per parameter per token (forward 2, backward 4) over the matrices that see
  // every token (embedding lookup excluded, output projection included), plus attention
  // scores and weighted sums: 6 * 2 * L * T * C per token with causal masking ignored.
  double matmul_params = double(c.param_count()) - double(c.vocab_size) * c.d_model * (c.tie_embeddings ? 0 : 1);
  return 6.0 * matmul_params + 12.0 * c.n_layers * double(seq_len) * c.d_model;
}

// bf16 autocast on this thread for the guard's lifetime (autocast state is per thread,
// so every worker sets its own).
struct Bf16Autocast {
  bool on;
  explicit Bf16Autocast(bool enable) : on(enable) {
    if (!on) return;
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
  ~Bf16Autocast() {
    if (!on) return;
    at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }
};

torch::Tensor batch_loss(Transformer& model, const TokenBatch& batch, int64_t row_begin, int64_t rows,
                         double normaliser, Precision precision) {
  const int64_t T = batch.seq_len;
  auto device = model->rope_cos.device();
  auto all = torch::from_blob(const_cast<int32_t*>(batch.tokens.data()) + row_begin * (T + 1), {rows, T + 1},
                              torch::kInt)
                 .to(device, torch::kLong);
  auto mask = torch::from_blob(const_cast<uint8_t*>(batch.loss_mask.data()) + row_begin * T, {rows, T}, torch::kByte)
                  .to(device, torch::kBool);
  auto inputs = all.narrow(1, 0, T);                                      // (B, T)
  auto targets = all.narrow(1, 1, T).masked_fill(mask.logical_not(), -100);  // (B, T), -100 = not counted
  torch::Tensor logits;
  {
    Bf16Autocast autocast(precision == Precision::bf16);
    logits = model->forward(inputs).to(torch::kFloat);  // (B, T, V); the loss in fp32
  }
  auto loss = torch::nn::functional::cross_entropy(
      logits.reshape({rows * T, logits.size(2)}), targets.reshape({rows * T}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum));
  return loss / normaliser;
}

static int64_t count_targets(const TokenBatch& b, int64_t row_begin, int64_t rows) {
  int64_t n = 0;
  for (int64_t i = row_begin * b.seq_len; i < (row_begin + rows) * b.seq_len; ++i) n += b.loss_mask[size_t(i)];
  return n;
}

double evaluate_loss(Transformer& model, const TokenStream& stream, int64_t batches, int64_t rows, int64_t seq_len,
                     DataParallel* dist) {
  torch::NoGradGuard no_grad;
  bool was_training = model->is_training();
  model->eval();
  double total = 0, count = 0;
  TokenBatch b;
  const int64_t stride = dist ? dist->world_size() : 1;
  for (int64_t i = dist ? dist->rank() : 0; i < batches; i += stride) {
    stream.batch(i, rows, seq_len, b);
    int64_t n = count_targets(b, 0, rows);
    if (n == 0) continue;
    total += batch_loss(model, b, 0, rows, 1.0).item<double>();
    count += double(n);
  }
  if (dist) {
    auto sums = torch::tensor({total, count}, torch::kDouble);
    dist->sum(sums);
    total = sums[0].item<double>(), count = sums[1].item<double>();
  }
  model->train(was_training);
  return count > 0 ? total / count : 0.0;
}

RowShare rank_rows(int64_t batch_rows, int64_t grad_accum, const DataParallel* dist) {
  if (dist == nullptr) return {0, batch_rows};
  const int64_t world = dist->world_size();
  check(batch_rows % (world * grad_accum) == 0,
        "the batch of {} sequences does not split evenly over {} ranks x {} micro-batches; choose --batch as a "
        "multiple of {}", batch_rows, world, grad_accum, world * grad_accum);
  const int64_t count = batch_rows / world;
  return {dist->rank() * count, count};
}

// Forward and backward of rows [begin, begin + rows) split over `workers` threads. Each
// thread's gradient is its own (autograd::grad, not .backward()), and they are added to
// .grad in worker order, so the result does not depend on which thread finishes first.
static double worker_backward(Transformer& model, const std::vector<torch::Tensor>& params, const TokenBatch& batch,
                              int64_t begin, int64_t rows, double normaliser, int64_t workers,
                              Precision precision) {
  const auto n = static_cast<size_t>(workers);
  std::vector<std::vector<torch::Tensor>> grads(n);
  std::vector<double> losses(n, 0.0);
  run_parts(n, [&](size_t w) {
    const int64_t first = begin + rows * int64_t(w) / workers, last = begin + rows * int64_t(w + 1) / workers;
    auto loss = batch_loss(model, batch, first, last - first, normaliser, precision);
    grads[w] = torch::autograd::grad({loss}, params, {}, false, false, true);
    losses[w] = loss.item<double>();
  });
  torch::NoGradGuard no_grad;
  double loss = 0;
  for (int64_t w = 0; w < workers; ++w) {
    loss += losses[size_t(w)];
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& g = grads[size_t(w)][i];
      if (!g.defined()) continue;
      auto p = params[i];
      if (p.grad().defined())
        p.mutable_grad().add_(g);
      else
        p.mutable_grad() = g;
    }
  }
  return loss;
}

StepStats train_step(Transformer& model, AdamW& optimizer, const TokenBatch& batch, const TrainConfig& cfg, double lr,
                     DataParallel* dist) {
  const int64_t rows = batch.rows, micro_rows = rows / cfg.grad_accum;
  double targets = double(count_targets(batch, 0, rows));
  if (dist) {
    auto global = torch::tensor({targets}, torch::kDouble);
    dist->sum(global);
    targets = global.item<double>();
  }
  const double normaliser = std::max(1.0, targets);
  optimizer.zero_grad();
  StepStats stats;
  // A prefix encoder writes its output into the attention layers on every forward pass
  // (model state, not an argument), so two threads' passes would see each other's.
  const int64_t workers = model->prefix_encoder ? 1 : std::min(cfg.workers, micro_rows);
  for (int64_t m = 0; m < cfg.grad_accum; ++m) {
    if (workers <= 1) {
      auto loss = batch_loss(model, batch, m * micro_rows, micro_rows, normaliser, cfg.precision);
      loss.backward();
      stats.loss += loss.item<double>();
    } else {
      stats.loss += worker_backward(model, optimizer.parameters(), batch, m * micro_rows, micro_rows, normaliser, workers,
                                    cfg.precision);
    }
  }
  stats.interrupted = interrupt_requested();
  if (dist) {
    dist->sum_gradients(optimizer.parameters());
    auto sums = torch::tensor({stats.loss, stats.interrupted ? 1.0 : 0.0}, torch::kDouble);
    dist->sum(sums);
    stats.loss = sums[0].item<double>();
    stats.interrupted = sums[1].item<double>() > 0;  // every rank stops at the same step
  }
  if (cfg.grad_clip > 0) stats.grad_norm = torch::nn::utils::clip_grad_norm_(optimizer.parameters(), cfg.grad_clip);
  optimizer.step(lr);
  return stats;
}

namespace {

// The training log: one JSON object a line. On resume, lines past the checkpoint's
// step (written after the last save, before the interruption) are dropped.
class TrainLog {
 public:
  TrainLog(const fs::path& path, int64_t resume_step) : path_(path) {
    if (resume_step > 0 && fs::exists(path)) {
      std::ifstream in(path);
      std::string line, kept;
      while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.value("step", int64_t(0)) <= resume_step) kept += line + "\n";
      }
      write_file_atomic(path, kept);
    }
    out_.open(path, resume_step > 0 ? std::ios::app : std::ios::trunc);
    check(bool(out_), "cannot write the training log {}", path.string());
  }
  void write(const nlohmann::json& j) {
    out_ << j.dump() << "\n";
    out_.flush();
  }

 private:
  fs::path path_;
  std::ofstream out_;
};

}  // namespace

fs::path snapshot_dir(const fs::path& out_dir, int64_t step) {
  return out_dir / "snapshots" / fmt::format("step-{:07d}", step);
}

void check_run_dir(const TrainRun& run) {
  const fs::path& dir = run.out_dir;
  if (run.resume)
    check(fs::exists(dir / "trainer_state.json"), "{}: no training state to resume from (run without --resume)",
          dir.string());
  else
    check(!fs::exists(dir / "model.safetensors"),
          "{} already holds a checkpoint; pass --resume to continue it, or choose another --out", dir.string());
}

TrainResult train(Transformer& model, const TokenStream& data, const TokenStream& heldout, const TrainConfig& cfg,
                  const TrainRun& run) {
  cfg.validate();
  const fs::path& dir = run.out_dir;
  DataParallel* dist = run.dist;
  const bool main_rank = dist == nullptr || dist->is_main();
  const RowShare share = rank_rows(cfg.batch_size, cfg.grad_accum, dist);
  AdamW optimizer(named_weights(*model), cfg.adamw);
  LrSchedule schedule{cfg.lr, cfg.min_lr_ratio, cfg.warmup_steps, cfg.steps, cfg.schedule};
  for (int64_t s : run.save_at)
    check(s > 0 && s <= cfg.steps, "--save-at {}: the run has steps 1 to {}", s, cfg.steps);
  check(run.save_every >= 0, "--save-every must be >= 0, got {}", run.save_every);

  int64_t start_step = 0, tokens_seen = 0;
  double resumed_heldout = 0;  // the last held-out loss before an interruption
  if (main_rank) check_run_dir(run);
  if (run.resume && main_rank) {
    auto state = read_json_file(dir / "trainer_state.json");
    check(state.value("config", nlohmann::json()) == cfg.to_json(),
          "{}: the checkpoint was trained with different settings ({}); resume needs the same flags",
          dir.string(), state.value("config", nlohmann::json()).dump());
    start_step = state.at("step").get<int64_t>();
    tokens_seen = state.at("tokens_seen").get<int64_t>();
    resumed_heldout = state.value("heldout_loss", 0.0);
    if (start_step < cfg.steps) {
      auto config = ModelConfig::from_hf_json(read_file(dir / "config.json"), (dir / "config.json").string());
      check(config.to_hf_json() == model->config.to_hf_json(), "{}: config.json describes another model than --preset",
            dir.string());
      load_named_tensors(named_weights(*model), read_safetensors((dir / "model.safetensors").string()),
                         (dir / "model.safetensors").string());
      check(fs::exists(dir / "optimizer.safetensors"), "{}: optimizer.safetensors is missing; cannot resume exactly",
            dir.string());
      optimizer.load_state(read_safetensors((dir / "optimizer.safetensors").string()), start_step,
                           (dir / "optimizer.safetensors").string());
    }
  } else if (main_rank) {
    fs::create_directories(dir);
  }
  if (dist) {
    // Rank 0's weights, optimizer moments and position are every rank's: the ranks start
    // (or resume) identical without needing a shared file system.
    std::vector<torch::Tensor> shared;
    for (auto& [name, p] : named_weights(*model)) shared.push_back(p);
    for (auto& [name, t] : optimizer.state_tensors()) shared.push_back(t);
    auto position = torch::tensor({double(start_step), double(tokens_seen), resumed_heldout}, torch::kDouble);
    shared.push_back(position);
    dist->broadcast(shared);
    start_step = int64_t(position[0].item<double>());
    tokens_seen = int64_t(position[1].item<double>());
    resumed_heldout = position[2].item<double>();
    optimizer.set_steps_taken(start_step);
  }
  if (start_step >= cfg.steps) {
    TrainResult done;
    done.steps_done = start_step;
    done.tokens_seen = tokens_seen;
    done.heldout_loss = resumed_heldout;
    done.complete = true;
    done.main_rank = main_rank;
    return done;
  }

  std::optional<TrainLog> log;
  if (main_rank) log.emplace(dir / "train_log.jsonl", start_step);
  // Held-out batches have the one-process micro-batch shape on every rank count, so the
  // held-out loss measures the same tokens however many ranks share the work.
  const int64_t heldout_rows = cfg.batch_size / cfg.grad_accum;
  const int64_t tokens_per_step = cfg.batch_size * cfg.seq_len;
  double last_heldout = resumed_heldout;

  // meta.json of the model as it is at `step` (checkpoints and snapshots alike).
  auto meta_at = [&](int64_t step) {
    nlohmann::json meta = run.meta;
    meta["steps"] = step;
    meta["tokens_seen"] = tokens_seen;
    meta["data_hash"] = hash_hex(data.describe());
    meta["heldout_loss"] = last_heldout;
    return meta;
  };
  auto save = [&](int64_t step, bool final_save) {
    if (!main_rank) return;
    const nlohmann::json meta = meta_at(step);
    nlohmann::json state = {{"step", step}, {"tokens_seen", tokens_seen}, {"config", cfg.to_json()},
                            {"heldout_loss", last_heldout}};
    std::vector<NamedBytes> extra = {{"trainer_state.json", state.dump(2) + "\n"}};
    if (!final_save || cfg.keep_optimizer)
      extra.push_back({"optimizer.safetensors", encode_safetensors(optimizer.state_tensors(), {{"step", std::to_string(step)}})});
    save_checkpoint(dir, model, meta, extra);
  };

  // A snapshot is the model at a step: weights and meta, no optimizer state.
  auto snapshot = [&](int64_t step) {
    if (!main_rank) return;
    nlohmann::json meta = meta_at(step);
    meta["snapshot_of"] = dir.string();
    save_checkpoint(snapshot_dir(dir, step), model, meta);
  };
  std::string last_accuracy;  // the progress bar's last evaluated accuracy

  model->train();
  Progress progress(run.label, cfg.steps, main_rank);
  TokenBatch batch;
  TrainResult result;
  result.main_rank = main_rank;
  result.model_name = run.meta.is_object() ? run.meta.value("preset", "") : "";
  double window_loss = 0;
  int64_t window_steps = 0;
  auto t0 = std::chrono::steady_clock::now();
  auto last_save = t0;
  auto seconds_since = [](auto t) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(); };

  int64_t step = start_step;
  while (step < cfg.steps) {
    data.read_rows(step, cfg.batch_size, share.first, share.count, cfg.seq_len, batch);
    const double lr = schedule.at(step);
    StepStats stats = train_step(model, optimizer, batch, cfg, lr, dist);
    const double step_loss = stats.loss, grad_norm = stats.grad_norm;
    ++step;
    tokens_seen += tokens_per_step;
    window_loss += step_loss;
    ++window_steps;

    const double elapsed = seconds_since(t0);
    const double tok_s = double(tokens_per_step * (step - start_step)) / std::max(elapsed, 1e-9);
    const bool eval_now = step % cfg.eval_every == 0 || step == cfg.steps;
    nlohmann::json entry = {{"step", step}, {"loss", step_loss}, {"lr", lr}, {"grad_norm", grad_norm},
                            {"tokens", tokens_seen}, {"tokens_per_s", tok_s}, {"elapsed_s", elapsed}};
    if (dist) {
      entry["ranks"] = dist->world_size();
      entry["allreduce_s"] = dist->gradient_seconds() / double(std::max<int64_t>(1, dist->gradient_calls()));
    }
    if (eval_now) {
      last_heldout = evaluate_loss(model, heldout, cfg.eval_batches, heldout_rows, cfg.seq_len, dist);
      entry["heldout_loss"] = last_heldout;
      if (run.evaluate_tasks && main_rank) {
        const auto t_eval = std::chrono::steady_clock::now();
        entry["evals"] = run.evaluate_tasks(model, step);
        entry["eval_s"] = seconds_since(t_eval);
        model->train();
        for (const auto& [name, e] : entry["evals"].items())
          last_accuracy = fmt::format(" acc {:.2f}", e.value("accuracy", 0.0));  // the last task's
      }
    }
    if (log) log->write(entry);
    progress.update(step, fmt::format("loss {:.3f}{}{} {} tok/s", step_loss,
                                      last_heldout > 0 ? fmt::format(" held-out {:.3f}", last_heldout) : "",
                                      last_accuracy, human_count(tok_s)));
    if (std::find(run.save_at.begin(), run.save_at.end(), step) != run.save_at.end() ||
        (run.save_every > 0 && step % run.save_every == 0))
      snapshot(step);
    result.train_loss = window_loss / double(window_steps);
    if (step % cfg.eval_every == 0) window_loss = 0, window_steps = 0;

    const bool interrupted = stats.interrupted;
    const bool stop_here = interrupted || (cfg.stop_after > 0 && step >= cfg.stop_after);
    if (stop_here && step < cfg.steps) {
      save(step, false);
      progress.finish();
      result.seconds = seconds_since(t0);
      result.steps_done = step;
      result.tokens_seen = tokens_seen;
      result.heldout_loss = last_heldout;
      result.tokens_per_second = tok_s;
      if (interrupted) fail("interrupted at step {}; checkpoint saved in {}; continue with --resume", step, dir.string());
      return result;
    }
    // Rank 0 alone decides when to save: the others need not know.
    if (step < cfg.steps && seconds_since(last_save) > cfg.checkpoint_minutes * 60) {
      save(step, false);
      last_save = std::chrono::steady_clock::now();
    }
  }
  progress.finish();
  result.seconds = seconds_since(t0);
  result.tokens_per_second = double(tokens_per_step * (step - start_step)) / std::max(result.seconds, 1e-9);
  result.steps_done = step;
  result.tokens_seen = tokens_seen;
  result.heldout_loss = last_heldout;
  result.complete = true;
  save(step, true);
  return result;
}

}  // namespace elab
