// elab bench: speed of training (and, later, generation) on this machine, one line a
// figure so runs can be compared.
#include <fmt/format.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/launch.h"
#include "core/error.h"
#include "core/fs.h"
#include "study/stages.h"
#include "core/progress.h"
#include "core/rng.h"
#include "model/adapters.h"
#include "model/config.h"
#include "eval/generate.h"
#include "model/device.h"
#include "model/fused.h"
#include "tasks/recipe.h"
#include "train/finetune.h"
#include "train/trainer.h"

namespace elab {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Matrix-product throughput of this process's cores in `dtype` (OpenBLAS on all of them
// for the measurement): the "peak" that model FLOPs utilisation is measured against.
double measure_matmul_gflops(int64_t n, torch::Device device, const ThreadSettings& restore,
                             torch::ScalarType dtype = torch::kFloat) {
  ThreadSettings all = restore;
  // fp32 products run on OpenBLAS's threads, bf16 ones on oneDNN's (libtorch's pool).
  all.blas_threads = 0, all.workers = 1;
  if (dtype != torch::kFloat) all.torch_threads = 0;
  configure_threads(all);
  auto a = torch::randn({n, n}, torch::TensorOptions().device(device)).to(dtype);
  auto b = torch::randn({n, n}, torch::TensorOptions().device(device)).to(dtype);
  auto c = torch::matmul(a, b);  // warm-up
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    const int iters = 4;
    for (int i = 0; i < iters; ++i) c = torch::matmul(a, b);
    c.sum().item<double>();  // synchronise
    best = std::max(best, 2.0 * double(n) * n * n * iters / seconds_since(t0) / 1e9);
  }
  configure_threads(restore);
  return best;
}

// A freshly initialised preset on the device: what the benchmarks measure.
Transformer fresh_model(const Preset& preset, const std::string& device) {
  Transformer model(preset.config, derive_seed(1, "init"));
  model->to(parse_device(device));
  return model;
}

struct BenchTrainOptions {
  ModelShape shape;  // a preset (l when nothing is given) or any shape
  std::string recipe = "add";
  int64_t train_examples = 0;  // > 0: a fixed training set of the recipe's one task, full batch
  std::string kernels = "fused";
  int64_t steps = 20;
  int64_t batch = 32;
  int64_t seq_len = 128;
  int64_t matmul_n = 1024;
  int nproc = 1;
  DistJobOptions dist;
  Precision precision = Precision::fp32;
};

// With --nproc N every rank trains on its share of each batch (the global batch stays
// --batch) and rank 0 reports; the all-reduce time is what data parallelism costs.
void bench_train(const BenchTrainOptions& o, const MachineOptions& m) {
  auto threads = configure_threads(m.threads);
  ModelShape shape = o.shape;
  if (shape.empty()) shape.preset = "l";
  const ResolvedModel resolved = resolve_model(shape);
  check(o.kernels == "fused" || o.kernels == "plain", "--kernels must be fused or plain, got '{}'", o.kernels);
  set_fused_kernels(o.kernels == "fused");
  check(o.steps > 0 && o.batch > 0 && o.seq_len > 0, "--steps, --batch and --seq-len must be positive");
  check(o.train_examples >= 0, "--train-examples must be positive, got {}", o.train_examples);
  auto dist = join_data_parallel(o.dist.backend, o.dist.timeout_seconds);
  const int local_rank = dist ? dist->options().local_rank : -1;
  torch::Device device = parse_device(m.device, local_rank);
  Transformer model(resolved.config, derive_seed(1, "init"));
  model->to(device);
  AdamW optimizer(named_weights(*model), AdamWConfig{});
  // The data: the recipe's stream in batch x seq-len rows, or (--train-examples N) the
  // fixed set a full-batch run trains on, every example in every step.
  std::unique_ptr<TokenStream> data;
  int64_t batch_rows = o.batch, seq_len = o.seq_len;
  if (o.train_examples > 0) {
    auto streams = fixed_set_streams(find_recipe(o.recipe), o.train_examples, 1);
    data = std::move(streams.train);
    batch_rows = o.train_examples;
    seq_len = streams.seq_len;
  } else {
    data = std::make_unique<RecipeStream>(find_recipe(o.recipe), derive_seed(1, "data"), Pool::train);
  }
  check(seq_len + 1 <= resolved.config.max_seq_len, "--seq-len {} exceeds the model's context of {}", seq_len,
        resolved.config.max_seq_len);
  TrainConfig cfg;
  cfg.batch_size = batch_rows;
  cfg.seq_len = seq_len;
  cfg.workers = threads.workers;
  cfg.precision = o.precision;
  cfg.validate();
  const RowShare share = rank_rows(batch_rows, 1, dist.get());
  TokenBatch batch;
  const int64_t warmup = 3;
  for (int64_t i = 0; i < warmup; ++i) {
    data->read_rows(i, batch_rows, share.first, share.count, seq_len, batch);
    train_step(model, optimizer, batch, cfg, 1e-4, dist.get());
  }
  const double allreduce_before = dist ? dist->gradient_seconds() : 0;
  double step_seconds = 0;
  int64_t counted = 0;  // tokens in the loss, which a peer needs to do the same work
  Progress progress("bench train " + resolved.name, o.steps, !dist || dist->is_main());
  for (int64_t i = 0; i < o.steps; ++i) {
    data->read_rows(warmup + i, batch_rows, share.first, share.count, seq_len, batch);  // not timed
    for (uint8_t in_loss : batch.loss_mask) counted += in_loss;
    auto t0 = std::chrono::steady_clock::now();
    train_step(model, optimizer, batch, cfg, 1e-4, dist.get());
    step_seconds += seconds_since(t0);
    progress.update(i + 1);
  }
  progress.finish();
  set_fused_kernels(true);
  const double allreduce_ms = dist ? 1000 * (dist->gradient_seconds() - allreduce_before) / double(o.steps) : 0;
  if (dist && !dist->is_main()) return;
  const double tokens_per_s = double(o.steps * batch_rows * seq_len) / step_seconds;
  // The model FLOPs of every position, as if each met the output layer (the usual
  // convention); with the loss on answers the fused path does less work than this.
  const double gflops = tokens_per_s * train_flops_per_token(resolved.config, seq_len) / 1e9;
  // The peak of the whole machine: with several ranks, one rank's peak times the ranks.
  const int ranks = dist ? dist->world_size() : 1;
  const torch::ScalarType dtype = o.precision == Precision::bf16 ? torch::kBFloat16 : torch::kFloat;
  const double peak = measure_matmul_gflops(o.matmul_n, device, threads, dtype) * ranks;
  fmt::print("bench train preset={} params={} recipe={} batch={} seq_len={} steps={} torch_threads={} blas_threads={} "
             "workers={} device={} ranks={} precision={} kernels={}\n",
             resolved.name, resolved.config.param_count(), o.recipe, batch_rows, seq_len, o.steps, threads.torch_threads,
             threads.blas_threads, threads.workers, m.device, ranks, precision_name(o.precision), o.kernels);
  fmt::print("tokens_per_s={:.0f} step_ms={:.1f} steps_per_s={:.2f} model_gflops={:.1f} counted_per_step={}\n",
             tokens_per_s, 1000 * step_seconds / o.steps, double(o.steps) / step_seconds, gflops, counted / o.steps);
  if (dist)
    fmt::print("allreduce_ms_per_step={:.1f} allreduce_share={:.3f} gradient_mb={:.1f}\n", allreduce_ms,
               allreduce_ms / (1000 * step_seconds / double(o.steps)),
               double(resolved.config.param_count()) * 4 / 1e6);
  fmt::print("matmul_{} n={} gflops={:.1f}\n", precision_name(o.precision), o.matmul_n, peak);
  fmt::print("mfu={:.3f}\n", gflops / peak);
}

struct BenchGenerateOptions {
  std::string preset = "l";
  std::string model;  // a checkpoint, adapter or GGUF file instead of a fresh preset
  std::string dtype = "f32";  // of the weight matrices: f32 or bf16
  std::vector<int> batches = {1, 8, 64};
  int prompt_len = 32;
  int new_tokens = 64;
};

// Throughput of the generation engine: prompts of `prompt_len` tokens (random letters for
// a fresh preset; random vocabulary tokens for a pretrained model), every row decoding
// exactly new_tokens tokens (no stop sequence, EOS ignored). Prefill is the prompt pass
// alone; decode is the rate of the tokens after the first, i.e. (time of new_tokens + 1
// tokens - time of 1 token) per token, so that batch 1 compares with llama.cpp's
// eval-one-token-at-a-time figure.
void bench_generate(const BenchGenerateOptions& o, const MachineOptions& m) {
  auto threads = configure_threads(m.threads);
  check(o.prompt_len > 0 && o.new_tokens > 0, "--prompt-len and --new-tokens must be positive");
  Checkpoint ck;
  std::string name;
  if (!o.model.empty()) {
    ck = load_model_dir(o.model, parse_device(m.device));
    name = o.model;
    use_weight_dtype(*ck.model, o.dtype, "--dtype");
  } else {
    const Preset& preset = find_preset(o.preset);
    ck.model = fresh_model(preset, m.device);
    ck.config = preset.config;
    name = preset.name;
  }
  Transformer& model = ck.model;
  const Tokenizer& tok = ck.tokenizer;
  fmt::print("bench generate model={} params={} dtype={} prompt_len={} new_tokens={} torch_threads={} blas_threads={} "
             "workers={} device={}\n",
             name, model->config.param_count(), o.dtype, o.prompt_len, o.new_tokens, threads.torch_threads,
             threads.blas_threads, threads.workers, m.device);
  // A prompt of exactly prompt_len tokens: ids that decode to text which encodes back to
  // the same count (random pretrained-vocabulary tokens may merge; draw until they do not).
  auto make_prompt = [&](Rng& rng) {
    if (tok.is_bytes()) {
      std::string p;
      for (int i = 0; i < o.prompt_len; ++i) p.push_back(char('a' + rng.uniform_int(0, 25)));
      return p;
    }
    const int lead = int(tok.encode_prompt("").size());
    for (int attempt = 0; attempt < 1000; ++attempt) {
      std::string p;
      for (int i = 0; i < o.prompt_len - lead; ++i) p += " " + std::to_string(rng.uniform_int(0, 9));  // " 7": 2 tokens
      p = p.substr(0, size_t(o.prompt_len - lead));
      if (int(tok.encode_prompt(p).size()) == o.prompt_len) return p;
    }
    fail("bench generate: cannot build a prompt of {} tokens", o.prompt_len);
  };
  auto timed = [&](const std::vector<std::string>& prompts, int new_tokens, int batch, int64_t& tokens) {
    GenerateOptions g;
    g.max_new_tokens = new_tokens;
    g.batch_size = batch;
    g.show_progress = false;
    g.workers = threads.workers;
    g.ignore_eos = true;
    auto t0 = std::chrono::steady_clock::now();
    tokens = 0;
    for (const auto& c : generate(model, tok, prompts, g)) tokens += c.tokens;
    return seconds_since(t0);
  };
  double base = 0;
  for (int b : o.batches) {
    check(b > 0, "--batch values must be positive, got {}", b);
    Rng rng(derive_seed(1, "bench-prompts", {uint64_t(b)}));
    std::vector<std::string> prompts(static_cast<size_t>(b));
    for (auto& p : prompts) p = make_prompt(rng);
    int64_t tokens = 0;
    timed({prompts[0]}, 2, 1, tokens);  // warm-up
    // Repeat for at least three seconds so that every batch size is timed over many runs
    // (one second gave batch 64 only five runs, and ratios that moved by 10%).
    double first = 0, full = 0;
    int runs = 0;
    int64_t decoded = 0;
    auto t0 = std::chrono::steady_clock::now();
    do {
      first += timed(prompts, 1, b, tokens);
      full += timed(prompts, o.new_tokens + 1, b, tokens);
      decoded += tokens - b;
      ++runs;
    } while (seconds_since(t0) < 3.0);
    const double prefill_tps = double(int64_t(b) * o.prompt_len * runs) / first;
    const double decode_tps = double(decoded) / std::max(1e-9, full - first);
    if (base == 0) base = decode_tps;
    fmt::print("batch={} runs={} prefill_tokens_per_s={:.0f} decode_tokens={} decode_seconds={:.2f} tokens_per_s={:.0f} "
               "speedup_vs_first={:.2f}\n",
               b, runs, prefill_tps, decoded, full - first, decode_tps, decode_tps / base);
  }
}

struct BenchJobsOptions {
  std::string preset = "m";
  int64_t tokens = 1'000'000;  // the quickstart study's pre-training budget
  int64_t batch = 8;
  int64_t seq_len = 512;
  int64_t n_train = 64;        // fine-tuning examples (lastletter)
  int64_t n_eval = 100;        // test items per evaluation (add)
};

// Wall time of each kind of study job, run by the same functions `elab study run` uses,
// on one fresh base model in a temporary directory: pre-training, fine-tuning (full and
// LoRA) and the evaluation methods of the quickstart study.
void bench_jobs(const BenchJobsOptions& o, const MachineOptions& m) {
  auto threads = configure_threads(m.threads);
  const fs::path dir = fs::temp_directory_path() / fmt::format("elab-bench-jobs-{}", ::getpid());
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  fs::create_directories(dir);
  fmt::print("bench jobs preset={} tokens={} batch={} seq_len={} n_train={} n_eval={} torch_threads={} blas_threads={} "
             "workers={} device={}\n",
             o.preset, o.tokens, o.batch, o.seq_len, o.n_train, o.n_eval, threads.torch_threads, threads.blas_threads,
             threads.workers, m.device);
  auto timed = [](auto&& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return seconds_since(t0);
  };
  TrainJob train;
  train.preset = o.preset;
  train.recipe = "base";
  train.tokens = o.tokens;
  train.batch_size = o.batch;
  train.seq_len = o.seq_len;
  train.out = (dir / "base").string();
  train.device = m.device;
  train.workers = threads.workers;
  double s = timed([&] { run_train_job(train); });
  fmt::print("job=pretrain tokens={} seconds={:.2f} tokens_per_s={:.0f}\n", o.tokens, s, double(o.tokens) / s);
  for (const std::string method : {"full", "lora"}) {
    FinetuneJob ft;
    ft.base = train.out;
    ft.task = "lastletter";
    ft.n_train = o.n_train;
    ft.out = (dir / method).string();
    ft.device = m.device;
    ft.config.method = method;
    ft.config.workers = threads.workers;
    FinetuneJobResult r;
    s = timed([&] { r = run_finetune_job(ft); });
    fmt::print("job=finetune:{} n_train={} steps={} seconds={:.2f}\n", method, o.n_train, r.run.steps_done, s);
  }
  for (const std::string method : {"direct", "icl:4", "cot:2"}) {
    EvalJob ev;
    ev.model = train.out;
    ev.task = "add";
    ev.spec.method = method;
    ev.spec.n = o.n_eval;
    ev.device = m.device;
    ev.workers = threads.workers;
    s = timed([&] { run_eval_job(ev); });
    fmt::print("job=eval:{} n={} seconds={:.2f}\n", method, o.n_eval, s);
  }
}

struct BenchFinetuneOptions {
  std::string preset = "xl";
  std::string model;  // a checkpoint or GGUF file instead of a fresh preset
  std::string method = "lora";
  int64_t steps = 10;
  int64_t batch = 16;
  int64_t seq_len = 64;
};

// Step time and memory of one fine-tuning method; one method a run, so that the
// process's peak resident memory belongs to it alone.
void bench_finetune(const BenchFinetuneOptions& o, const MachineOptions& m) {
  auto threads = configure_threads(m.threads);
  const Preset& preset = find_preset(o.preset);
  check(o.steps > 0 && o.batch > 0 && o.seq_len > 0, "--steps, --batch and --seq-len must be positive");
  Transformer model{nullptr};
  int64_t vocab = 0;  // > 0: a pretrained model, fed random tokens of its vocabulary
  if (o.model.empty()) {
    model = fresh_model(preset, m.device);
  } else {
    Checkpoint ck = load_model_dir(o.model, parse_device(m.device));
    model = ck.model;
    vocab = ck.tokenizer.vocab_size();
  }
  FinetuneConfig cfg;
  cfg.method = o.method;
  cfg.batch_size = o.batch;
  cfg.seq_len = o.seq_len;
  auto trainable = prepare_finetune(model, cfg);
  AdamW optimizer(trainable, AdamWConfig{});
  Recipe recipe = find_recipe("task:lastletter");
  recipe.answer_only_loss = true;
  RecipeStream data(recipe, derive_seed(1, "data"), Pool::train);
  TrainConfig step_cfg;
  step_cfg.batch_size = o.batch;
  step_cfg.seq_len = o.seq_len;
  step_cfg.workers = threads.workers;
  PrefixThreads prefix_threads(o.method, threads.workers);  // as finetune() does
  TokenBatch batch;
  const int64_t warmup = 2;
  double step_seconds = 0;
  Rng token_rng(derive_seed(1, "bench-tokens"));
  for (int64_t i = 0; i < warmup + o.steps; ++i) {
    if (vocab > 0) {  // as bench/peft_lora_step.py draws them: uniform tokens, every target counted
      batch.rows = o.batch;
      batch.seq_len = o.seq_len;
      batch.tokens.resize(size_t(o.batch * (o.seq_len + 1)));
      for (auto& t : batch.tokens) t = int32_t(token_rng.uniform_int(0, vocab - 1));
      batch.loss_mask.assign(size_t(o.batch * o.seq_len), 1);
    } else {
      data.batch(i, o.batch, o.seq_len, batch);
    }
    auto t0 = std::chrono::steady_clock::now();
    train_step(model, optimizer, batch, step_cfg, 1e-4);
    if (i >= warmup) step_seconds += seconds_since(t0);
  }
  int64_t trainable_params = 0;
  for (const auto& [name, p] : trainable) trainable_params += p.numel();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  int64_t params = 0;
  for (const auto& [name, p] : named_weights(*model)) params += name.find("lora_") == std::string::npos ? p.numel() : 0;
  fmt::print("bench finetune model={} method={} params={} trainable={} batch={} seq_len={} steps={} torch_threads={} "
             "blas_threads={} device={}\n",
             o.model.empty() ? preset.name : o.model, o.method, params, trainable_params, o.batch, o.seq_len, o.steps,
             threads.torch_threads, threads.blas_threads, m.device);
  fmt::print("step_ms={:.1f} tokens_per_s={:.0f} optimizer_state_mb={:.2f} grad_mb={:.2f} peak_rss_mb={:.1f}\n",
             1000 * step_seconds / double(o.steps), double(o.steps * o.batch * o.seq_len) / step_seconds,
             double(optimizer.state_bytes()) / 1e6, double(trainable_params) * 4 / 1e6, double(usage.ru_maxrss) / 1024);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks: one line a figure");
  bench->require_subcommand(1);

  auto o = std::make_shared<BenchTrainOptions>();
  auto m = std::make_shared<MachineOptions>();
  auto* train = bench->add_subcommand("train", "Training tokens/s, achieved GFLOP/s and model FLOPs utilisation");
  add_model_shape_flags(*train, o->shape);
  train->add_option("--recipe", o->recipe, "data recipe (elab recipes list, or task:TASK[@FORMAT])")->capture_default_str();
  train->add_option("--train-examples", o->train_examples,
                    "a fixed training set of N examples of the recipe's task, all of them in every step (full batch, "
                    "the loss on answers; --batch and --seq-len follow from it)");
  train->add_option("--kernels", o->kernels,
                    "fused (default): the fused CPU kernels and the output layer at counted positions only; plain: "
                    "libtorch operations, as before them (docs/PERFORMANCE.md)")
      ->capture_default_str();
  train->add_option("--steps", o->steps, "timed optimiser steps")->capture_default_str();
  train->add_option("--batch", o->batch, "sequences per step")->capture_default_str();
  train->add_option("--seq-len", o->seq_len, "tokens per sequence")->capture_default_str();
  train->add_option("--matmul-n", o->matmul_n, "size of the square matmul that measures peak GFLOP/s")
      ->capture_default_str();
  add_training_flags(*train, o->precision, o->nproc, o->dist, *m);
  train->callback([o, m] {
    if (launch_local_ranks(o->nproc, o->dist)) return;
    bench_train(*o, *m);
  });

  auto g = std::make_shared<BenchGenerateOptions>();
  auto gm = std::make_shared<MachineOptions>(generation_machine_defaults());
  auto* gen = bench->add_subcommand("generate", "Decode tokens/s of the generation engine at several batch sizes");
  gen->add_option("--preset", g->preset, "model preset (a fresh model of that shape)")->capture_default_str();
  gen->add_option("--model", g->model, "a checkpoint, adapter or FILE.gguf instead of a preset");
  gen->add_option("--dtype", g->dtype, "weight matrices of --model: f32, bf16 or q8 (8-bit)")->capture_default_str();
  gen->add_option("--batch", g->batches, "batch sizes (repeatable)")->capture_default_str();
  gen->add_option("--prompt-len", g->prompt_len, "prompt length in tokens")->capture_default_str();
  gen->add_option("--new-tokens", g->new_tokens, "tokens decoded per row")->capture_default_str();
  add_machine_flags(*gen, *gm);
  add_worker_flag(*gen, *gm);
  gen->callback([g, gm] { bench_generate(*g, *gm); });

  auto f = std::make_shared<BenchFinetuneOptions>();
  auto fm = std::make_shared<MachineOptions>();
  auto* ft = bench->add_subcommand("finetune", "Fine-tuning step time, optimiser state and peak memory of one method");
  ft->add_option("--preset", f->preset, "model preset")->capture_default_str();
  ft->add_option("--model", f->model, "a checkpoint directory or GGUF file instead of a preset (random tokens of its "
                 "vocabulary, as bench/peft_lora_step.py feeds PEFT)");
  ft->add_option("--method", f->method, "full | lora | prefix")->capture_default_str();
  ft->add_option("--steps", f->steps, "timed optimiser steps")->capture_default_str();
  ft->add_option("--batch", f->batch, "examples per step")->capture_default_str();
  ft->add_option("--seq-len", f->seq_len, "tokens per example row")->capture_default_str();
  add_machine_flags(*ft, *fm);
  add_worker_flag(*ft, *fm);
  ft->callback([f, fm] { bench_finetune(*f, *fm); });

  auto j = std::make_shared<BenchJobsOptions>();
  auto jm = std::make_shared<MachineOptions>();
  auto* jobs = bench->add_subcommand("jobs", "Wall time of each kind of study job (pre-train, fine-tune, evaluate)");
  jobs->add_option("--preset", j->preset, "model preset")->capture_default_str();
  jobs->add_option("--tokens", j->tokens, "pre-training tokens")->capture_default_str();
  jobs->add_option("--batch", j->batch, "pre-training sequences per step")->capture_default_str();
  jobs->add_option("--seq-len", j->seq_len, "pre-training tokens per sequence")->capture_default_str();
  jobs->add_option("--n-train", j->n_train, "fine-tuning examples")->capture_default_str();
  jobs->add_option("-n", j->n_eval, "test items per evaluation")->capture_default_str();
  add_machine_flags(*jobs, *jm);
  add_worker_flag(*jobs, *jm);
  jobs->callback([j, jm] { bench_jobs(*j, *jm); });

  add_bench_serve_command(*bench);
}

}  // namespace elab
