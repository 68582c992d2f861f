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
#include "model/fused.h"

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

OutputFunction parse_output_function(const std::string& text, const std::string& what) {
  if (text == "softmax") return OutputFunction::softmax;
  if (text == "stablemax") return OutputFunction::stablemax;
  fail("{} must be softmax or stablemax, got '{}'", what, text);
}

const char* output_function_name(OutputFunction f) { return f == OutputFunction::stablemax ? "stablemax" : "softmax"; }

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
  if (output != OutputFunction::softmax) j["output"] = output_function_name(output);
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

torch::Tensor cross_entropy_sum(const torch::Tensor& logits, const torch::Tensor& targets, OutputFunction output) {
  if (output == OutputFunction::softmax)
    return torch::nn::functional::cross_entropy(
        logits, targets, torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum));
  const auto counted = targets.ne(-100);
  const auto x = logits.index({counted});
  const auto y = targets.index({counted});
  // s(x): x + 1 at and above 0, 1 / (1 - x) below. The clamp keeps the branch torch::where
  // does not take finite, so its zero gradient is not 0 * inf.
  const auto s = torch::where(x >= 0, x + 1, 1.0 / (1.0 - x.clamp_max(0)));
  return -(torch::log(s.gather(1, y.unsqueeze(1)).squeeze(1)) - torch::log(s.sum(1))).sum();
}

torch::Tensor batch_loss(Transformer& model, const TokenBatch& batch, int64_t row_begin, int64_t rows,
                         double normaliser, Precision precision, OutputFunction output) {
  const int64_t T = batch.seq_len;
  auto device = model->rope_cos.device();
  auto all = torch::from_blob(const_cast<int32_t*>(batch.tokens.data()) + row_begin * (T + 1), {rows, T + 1},
                              torch::kInt)
                 .to(device, torch::kLong);
  auto mask = torch::from_blob(const_cast<uint8_t*>(batch.loss_mask.data()) + row_begin * T, {rows, T}, torch::kByte)
                  .to(device, torch::kBool);
  auto inputs = all.narrow(1, 0, T);                                      // (B, T)
  auto targets = all.narrow(1, 1, T).masked_fill(mask.logical_not(), -100);  // (B, T), -100 = not counted
  // Only the positions in the loss go past the last block's attention: with the loss on
  // answers that is a few of each row's positions, and the last MLP and the output layer
  // are most of a one-layer model's products (the output layer's logits and softmax alone
  // were a third of a grokking step).
  auto counted_targets = targets.reshape({rows * T});
  torch::Tensor keep;
  if (fused_kernels()) {
    auto counted = counted_targets.ne(-100).nonzero().squeeze(1);
    if (counted.size(0) < rows * T) {
      keep = counted;
      counted_targets = counted_targets.index_select(0, counted);
    }
  }
  torch::Tensor logits;
  {
    Bf16Autocast autocast(precision == Precision::bf16);  // the products; not the loss, which is fp32
    auto hidden = model->hidden(inputs, nullptr, keep);    // (B, T, C), or (counted, C)
    logits = model->logits(hidden.reshape({-1, hidden.size(-1)})).to(torch::kFloat);  // (counted, V)
  }
  return cross_entropy_sum(logits, counted_targets, output) / normaliser;
}

static int64_t count_targets(const TokenBatch& b, int64_t row_begin, int64_t rows) {
  int64_t n = 0;
  for (int64_t i = row_begin * b.seq_len; i < (row_begin + rows) * b.seq_len; ++i) n += b.loss_mask[size_t(i)];
  return n;
}

double evaluate_loss(Transformer& model, const TokenStream& stream, int64_t batches, int64_t rows, int64_t seq_len,
                     DataParallel* dist, OutputFunction output) {
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
    total += batch_loss(model, b, 0, rows, 1.0, Precision::fp32, output).item<double>();
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
                              Precision precision, OutputFunction output) {
  const auto n = static_cast<size_t>(workers);
  std::vector<std::vector<torch::Tensor>> grads(n);
  std::vector<double> losses(n, 0.0);
  run_parts(n, [&](size_t w) {
    const int64_t first = begin + rows * int64_t(w) / workers, last = begin + rows * int64_t(w + 1) / workers;
    auto loss = batch_loss(model, batch, first, last - first, normaliser, precision, output);
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
      auto loss = batch_loss(model, batch, m * micro_rows, micro_rows, normaliser, cfg.precision, cfg.output);
      loss.backward();
      stats.loss += loss.item<double>();
    } else {
      stats.loss += worker_backward(model, optimizer.parameters(), batch, m * micro_rows, micro_rows, normaliser, workers,
                                    cfg.precision, cfg.output);
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

namespace {

// Where a run stands: its step, the tokens it has seen, its last held-out loss.
struct RunPosition {
  int64_t step = 0, tokens_seen = 0;
  double heldout_loss = 0;
};

// Stage 1: a fresh run directory, or the state of an interrupted run loaded into the
// model and the optimiser (rank 0 only; the others receive it in stage 2).
RunPosition restore_or_start(Transformer& model, AdamW& optimizer, const TrainConfig& cfg, const TrainRun& run) {
  const fs::path& dir = run.out_dir;
  check_run_dir(run);
  RunPosition pos;
  if (!run.resume) {
    fs::create_directories(dir);
    return pos;
  }
  auto state = read_json_file(dir / "trainer_state.json");
  check(state.value("config", nlohmann::json()) == cfg.to_json(),
        "{}: the checkpoint was trained with different settings ({}); resume needs the same flags", dir.string(),
        state.value("config", nlohmann::json()).dump());
  pos.step = state.at("step").get<int64_t>();
  pos.tokens_seen = state.at("tokens_seen").get<int64_t>();
  pos.heldout_loss = state.value("heldout_loss", 0.0);
  if (pos.step >= cfg.steps) return pos;
  auto config = ModelConfig::from_hf_json(read_file(dir / "config.json"), (dir / "config.json").string());
  check(config.to_hf_json() == model->config.to_hf_json(), "{}: config.json describes another model than --preset",
        dir.string());
  load_named_tensors(named_weights(*model), read_safetensors((dir / "model.safetensors").string()).tensors,
                     (dir / "model.safetensors").string());
  check(fs::exists(dir / "optimizer.safetensors"), "{}: optimizer.safetensors is missing; cannot resume exactly",
        dir.string());
  optimizer.load_state(read_safetensors((dir / "optimizer.safetensors").string()), pos.step,
                       (dir / "optimizer.safetensors").string());
  return pos;
}

// Stage 2 (data-parallel runs): rank 0's weights, optimiser moments and position become
// every rank's, so the ranks start (or resume) identical without a shared file system.
void share_from_rank0(Transformer& model, AdamW& optimizer, RunPosition& pos, DataParallel& dist) {
  std::vector<torch::Tensor> shared;
  for (auto& [name, p] : named_weights(*model)) shared.push_back(p);
  for (auto& [name, t] : optimizer.state_tensors()) shared.push_back(t);
  auto position = torch::tensor({double(pos.step), double(pos.tokens_seen), pos.heldout_loss}, torch::kDouble);
  shared.push_back(position);
  dist.broadcast(shared);
  pos.step = int64_t(position[0].item<double>());
  pos.tokens_seen = int64_t(position[1].item<double>());
  pos.heldout_loss = position[2].item<double>();
  optimizer.set_steps_taken(pos.step);
}

// What the run writes (rank 0 alone): checkpoints with their training state, and
// snapshots (the model at a step: weights and meta, no optimiser state).
struct RunWriter {
  Transformer& model;
  const AdamW& optimizer;
  const TrainConfig& cfg;
  const TrainRun& run;
  std::string data_hash;
  bool main_rank;

  nlohmann::json meta_at(const RunPosition& pos) const {
    nlohmann::json meta = run.meta;
    meta["steps"] = pos.step;
    meta["tokens_seen"] = pos.tokens_seen;
    meta["data_hash"] = data_hash;
    meta["heldout_loss"] = pos.heldout_loss;
    return meta;
  }
  void checkpoint(const RunPosition& pos, bool final_save) const {
    if (!main_rank) return;
    nlohmann::json state = {{"step", pos.step}, {"tokens_seen", pos.tokens_seen}, {"config", cfg.to_json()},
                            {"heldout_loss", pos.heldout_loss}};
    std::vector<NamedBytes> extra = {{"trainer_state.json", state.dump(2) + "\n"}};
    if (!final_save || cfg.keep_optimizer)
      extra.push_back(
          {"optimizer.safetensors", encode_safetensors(optimizer.state_tensors(), {{"step", std::to_string(pos.step)}})});
    save_checkpoint(run.out_dir, model, meta_at(pos), extra);
  }
  void snapshot(const RunPosition& pos) const {
    if (!main_rank) return;
    nlohmann::json meta = meta_at(pos);
    meta["snapshot_of"] = run.out_dir.string();
    save_checkpoint(snapshot_dir(run.out_dir, pos.step), model, meta);
  }
  bool snapshot_due(int64_t step) const {
    return std::find(run.save_at.begin(), run.save_at.end(), step) != run.save_at.end() ||
           (run.save_every > 0 && step % run.save_every == 0);
  }
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TrainResult train(Transformer& model, const TokenStream& data, const TokenStream& heldout, const TrainConfig& cfg,
                  const TrainRun& run) {
  cfg.validate();
  for (int64_t s : run.save_at)
    check(s > 0 && s <= cfg.steps, "--save-at {}: the run has steps 1 to {}", s, cfg.steps);
  check(run.save_every >= 0, "--save-every must be >= 0, got {}", run.save_every);
  DataParallel* dist = run.dist;
  const bool main_rank = dist == nullptr || dist->is_main();
  const RowShare share = rank_rows(cfg.batch_size, cfg.grad_accum, dist);
  AdamW optimizer(named_weights(*model), cfg.adamw);
  LrSchedule schedule{cfg.lr, cfg.min_lr_ratio, cfg.warmup_steps, cfg.steps, cfg.schedule};

  RunPosition pos;
  if (main_rank) pos = restore_or_start(model, optimizer, cfg, run);
  if (dist) share_from_rank0(model, optimizer, pos, *dist);
  TrainResult result;
  result.main_rank = main_rank;
  result.model_name = run.meta.is_object() ? run.meta.value("preset", "") : "";
  if (pos.step >= cfg.steps) {  // a finished run: nothing to do
    result.steps_done = pos.step;
    result.tokens_seen = pos.tokens_seen;
    result.heldout_loss = pos.heldout_loss;
    result.complete = true;
    return result;
  }

  // Stage 3: the loop. Held-out batches have the one-process micro-batch shape on every
  // rank count, so the held-out loss measures the same tokens however many ranks share
  // the work.
  std::optional<TrainLog> log;
  if (main_rank) log.emplace(run.out_dir / "train_log.jsonl", pos.step);
  const RunWriter writer{model, optimizer, cfg, run, hash_hex(data.describe()), main_rank};
  const int64_t heldout_rows = cfg.batch_size / cfg.grad_accum;
  const int64_t tokens_per_step = cfg.batch_size * cfg.seq_len;
  const int64_t start_step = pos.step;
  std::string last_accuracy;  // the progress bar's last evaluated accuracy
  model->train();
  Progress progress(run.label, cfg.steps, main_rank);
  TokenBatch batch;
  double window_loss = 0;
  int64_t window_steps = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto last_save = t0;
  auto finish = [&](double tok_s) {
    result.seconds = seconds_since(t0);
    result.steps_done = pos.step;
    result.tokens_seen = pos.tokens_seen;
    result.heldout_loss = pos.heldout_loss;
    result.tokens_per_second = tok_s;
  };
  while (pos.step < cfg.steps) {
    data.read_rows(pos.step, cfg.batch_size, share.first, share.count, cfg.seq_len, batch);
    const double lr = schedule.at(pos.step);
    StepStats stats = train_step(model, optimizer, batch, cfg, lr, dist);
    const int64_t step = ++pos.step;
    pos.tokens_seen += tokens_per_step;
    window_loss += stats.loss;
    ++window_steps;

    const double elapsed = seconds_since(t0);
    const double tok_s = double(tokens_per_step * (step - start_step)) / std::max(elapsed, 1e-9);
    nlohmann::json entry = {{"step", step}, {"loss", stats.loss}, {"lr", lr}, {"grad_norm", stats.grad_norm},
                            {"tokens", pos.tokens_seen}, {"tokens_per_s", tok_s}, {"elapsed_s", elapsed}};
    if (dist) {
      entry["ranks"] = dist->world_size();
      entry["allreduce_s"] = dist->gradient_seconds() / double(std::max<int64_t>(1, dist->gradient_calls()));
    }
    if (step % cfg.eval_every == 0 || step == cfg.steps) {  // held-out loss, and the tasks' accuracy
      pos.heldout_loss = evaluate_loss(model, heldout, cfg.eval_batches, heldout_rows, cfg.seq_len, dist, cfg.output);
      entry["heldout_loss"] = pos.heldout_loss;
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
    progress.update(step, fmt::format("loss {:.3f}{}{} {} tok/s", stats.loss,
                                      pos.heldout_loss > 0 ? fmt::format(" held-out {:.3f}", pos.heldout_loss) : "",
                                      last_accuracy, human_count(tok_s)));
    if (writer.snapshot_due(step)) writer.snapshot(pos);
    result.train_loss = window_loss / double(window_steps);
    if (step % cfg.eval_every == 0) window_loss = 0, window_steps = 0;

    // An interruption (or --stop-after) checkpoints and stops; the run resumes exactly.
    if ((stats.interrupted || (cfg.stop_after > 0 && step >= cfg.stop_after)) && step < cfg.steps) {
      writer.checkpoint(pos, false);
      progress.finish();
      finish(tok_s);
      if (stats.interrupted)
        fail("interrupted at step {}; checkpoint saved in {}; continue with --resume", step, run.out_dir.string());
      return result;
    }
    // Rank 0 alone decides when to save: the others need not know.
    if (step < cfg.steps && seconds_since(last_save) > cfg.checkpoint_minutes * 60) {
      writer.checkpoint(pos, false);
      last_save = std::chrono::steady_clock::now();
    }
  }
  progress.finish();

  // Stage 4: the final checkpoint.
  finish(double(tokens_per_step * (pos.step - start_step)) / std::max(seconds_since(t0), 1e-9));
  result.complete = true;
  writer.checkpoint(pos, true);
  return result;
}

}  // namespace elab
