#include "study/stages.h"

#include <fmt/format.h>

#include <limits>
#include <map>

#include "backends/native.h"
#include "backends/registry.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/version.h"
#include "eval/method.h"
#include "model/adapters.h"
#include "model/model_cache.h"
#include "model/config.h"
#include "model/device.h"
#include "tasks/example_stream.h"
#include "tasks/file_task.h"
#include "tasks/recipe.h"
#include "tasks/registry.h"

namespace elab {

std::unique_ptr<DataParallel> join_ranks(const DistJobOptions& o) {
  return join_data_parallel(o.backend, o.timeout_seconds);
}

int local_rank(const DataParallel* dist) { return dist ? dist->options().local_rank : -1; }

nlohmann::json training_curves(const std::string& run_dir) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& l : read_lines((fs::path(run_dir) / "train_log.jsonl").string())) {
    auto j = nlohmann::json::parse(l.text, nullptr, false);
    if (!j.is_discarded() && j.contains("evals")) out.push_back({{"step", j["step"]}, {"evals", j["evals"]}});
  }
  return out;
}

std::vector<Example> fixed_training_set(const Task& task, int64_t n, uint64_t seed) {
  return distinct_examples(task, task.exemplar_split(), Pool::train, n, derive_seed(seed, "train-examples"));
}

namespace {

// The evaluations of --eval-task, on fixed items, with the training model in place.
struct StepEvaluations {
  struct One {
    std::string name;
    EvalTaskSpec spec;
    std::unique_ptr<Task> task;
    std::vector<Example> items;  // fixed for the whole run
  };
  std::vector<One> evals;
  EvalSpec base;
  int workers = 1;

  // `train_set`: the fixed training set, which split "train" evaluates (its first eval_n).
  StepEvaluations(const TrainJob& job, const ModelConfig& config, const std::vector<Example>& train_set) {
    base.n = job.eval_n;
    base.seed = derive_seed(job.seed, "train-evals");
    base.batch_size = 64;
    base.show_progress = false;  // the training bar is on the terminal
    for (const auto& text : job.eval_tasks) {
      const EvalTaskSpec spec = parse_eval_task(text);
      One e{text, spec, make_task(spec.task), {}};
      if (e.spec.split.empty()) e.spec.split = e.task->default_split();
      const Method m = parse_method(e.spec.method);
      if (e.spec.split == "train") {
        // Accuracy on what the model is trained on (the "train accuracy" of grokking).
        check(!train_set.empty(), "--eval-task {}: split train is the fixed training set; give --train-examples", text);
        e.items.assign(train_set.begin(), train_set.begin() + std::min<int64_t>(base.n, int64_t(train_set.size())));
        e.spec.split = e.task->exemplar_split();
      } else {
        e.task->check_split(e.spec.split);
        // Up to eval_n items: a small generated test pool is taken whole.
        e.items = e.task->fixed_test_items()
                      ? test_items(*e.task, e.spec.split, std::min(base.n, e.task->pool_size(e.spec.split, Pool::test)), base.seed)
                      : distinct_examples(*e.task, e.spec.split, Pool::test, base.n, derive_seed(base.seed, "test-items"),
                                          /*up_to=*/true);
      }
      // The longest prompt of the fixed items, plus the answer room, must fit the context.
      ByteTokenizer tok;
      const auto shots = method_exemplars(*e.task, m, base.seed, 0, false);
      const int64_t room = default_max_new_tokens(m);
      for (const auto& item : e.items) {
        const int64_t tokens = int64_t(tok.encode(method_prompt(m, shots, item)).size()) + 1;
        check(tokens + room <= config.max_seq_len,
              "--eval-task {}: a prompt of {} tokens plus {} to answer does not fit the model's context of {} "
              "(--max-seq-len, or fewer shots)", text, tokens, room, config.max_seq_len);
      }
      evals.push_back(std::move(e));
    }
  }

  nlohmann::json operator()(Transformer& model, int64_t /*step*/) const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& e : evals) {
      Checkpoint ck;
      ck.config = model->config;
      ck.model = model;  // shares the module: the weights as they are at this step
      NativeBackend backend(std::move(ck));
      backend.workers = workers;
      EvalSpec spec = base;
      spec.split = e.spec.split;
      spec.method = e.spec.method;
      spec.items = &e.items;
      const EvalSummary r = evaluate(backend, *e.task, e.spec.task, spec).summary;
      nlohmann::json j = {{"accuracy", r.accuracy}, {"ci95", {r.ci_lo, r.ci_hi}}, {"n", r.n},
                          {"char_accuracy", r.metrics.char_accuracy}, {"extract_fail", r.metrics.extract_fail}};
      // The loss on the answer's tokens (byte-level: per byte = per token), teacher-forced.
      if (r.metrics.gold_logprob_per_char) j["answer_loss"] = -*r.metrics.gold_logprob_per_char;
      out[e.name] = j;
    }
    return out;
  }
};

}  // namespace

FixedSetStreams fixed_set_streams(const Recipe& recipe, int64_t n, uint64_t seed) {
  check(recipe.entries.size() == 1, "--train-examples needs a recipe of one task (task:TASK[@FORMAT]); {} has {}",
        recipe.name, recipe.entries.size());
  const auto& entry = recipe.entries[0];
  auto task = make_task(entry.task);
  FixedSetStreams out;
  // Training pool only: test items are in another pool by construction (tasks/task.h).
  out.examples = fixed_training_set(*task, n, seed);
  // Held-out loss on up to 64 problems of the exemplar pool (small tasks have fewer).
  auto heldout_set = distinct_examples(*task, task->exemplar_split(), Pool::exemplar, 64, derive_seed(seed, "heldout"),
                                       /*up_to=*/true);
  auto train = std::make_unique<ExampleStream>(out.examples, entry.format, task->instruction(), Tokenizer(),
                                               derive_seed(seed, "data"), true);
  auto heldout = std::make_unique<ExampleStream>(heldout_set, entry.format, task->instruction(), Tokenizer(), 0, false);
  out.seq_len = std::max(train->longest(), heldout->longest()) - 1;
  out.train = std::move(train);
  out.heldout = std::move(heldout);
  return out;
}

TrainResult run_train_job(const TrainJob& job) {
  ModelShape shape = job.shape;
  if (shape.empty()) shape.preset = job.preset;  // no shape given: the job's preset
  ResolvedModel resolved = resolve_model(shape);
  if (!job.model_name.empty()) resolved.name = job.model_name;
  Recipe recipe = find_recipe(job.recipe);
  if (job.loss == LossTokens::answer) recipe.answer_only_loss = true;
  check(!job.out.empty(), "--out is required");
  const bool fixed_set = job.train_examples > 0;
  check(job.train_examples >= 0, "--train-examples must be positive, got {}", job.train_examples);
  check(job.epochs >= 0, "--epochs must be positive, got {}", job.epochs);
  check(job.epochs == 0 || fixed_set, "--epochs needs a fixed training set (--train-examples N)");
  check(job.batch_size != kBatchAll || fixed_set, "--batch all needs a fixed training set (--train-examples N)");
  check(!(job.epochs > 0 && job.tokens > 0), "give --tokens or --epochs, not both");
  check(job.tokens > 0 || job.epochs > 0, "--tokens must be positive, got {} (or give --epochs with --train-examples)",
        job.tokens);
  check(job.batch_size > 0 || job.batch_size == kBatchAll, "--batch must be positive or 'all'");
  check(job.seq_len > 0, "--seq-len must be positive");
  check(job.eval_n > 0, "--eval-n must be positive, got {}", job.eval_n);

  // The data: the recipe's stream, or a fixed set of examples of its one task.
  std::unique_ptr<TokenStream> data, heldout;
  std::vector<Example> train_set;
  int64_t batch_size = job.batch_size, seq_len = job.seq_len;
  if (fixed_set) {
    auto streams = fixed_set_streams(recipe, job.train_examples, job.seed);
    train_set = std::move(streams.examples);
    seq_len = streams.seq_len;
    if (batch_size == kBatchAll) batch_size = job.train_examples;
    data = std::move(streams.train);
    heldout = std::move(streams.heldout);
  } else {
    data = std::make_unique<RecipeStream>(recipe, derive_seed(job.seed, "data"), Pool::train);
    heldout = std::make_unique<RecipeStream>(recipe, derive_seed(job.seed, "heldout"), Pool::exemplar);
  }
  check(seq_len + 1 <= resolved.config.max_seq_len, "--seq-len {} exceeds model {}'s context of {}", seq_len,
        resolved.name, resolved.config.max_seq_len);

  TrainConfig cfg;
  cfg.batch_size = batch_size;
  cfg.seq_len = seq_len;
  cfg.grad_accum = job.grad_accum;
  cfg.steps = job.epochs > 0 ? (job.epochs * job.train_examples + batch_size - 1) / batch_size
                             : (job.tokens + batch_size * seq_len - 1) / (batch_size * seq_len);
  cfg.lr = job.lr > 0 ? job.lr : resolved.lr;
  cfg.warmup_steps = job.warmup_steps >= 0 ? job.warmup_steps : std::min<int64_t>(200, cfg.steps / 20);
  cfg.eval_every = job.eval_every > 0 ? job.eval_every : std::max<int64_t>(1, cfg.steps / 20);
  cfg.seed = job.seed;
  cfg.stop_after = job.stop_after;
  cfg.keep_optimizer = job.keep_optimizer;
  cfg.workers = job.workers;
  cfg.precision = job.precision;
  cfg.schedule = job.schedule;
  cfg.output = parse_output_function(job.output);
  cfg.adamw.kind = job.optimizer;
  if (job.weight_decay >= 0) cfg.adamw.weight_decay = job.weight_decay;
  if (job.beta1 >= 0) cfg.adamw.beta1 = job.beta1;
  if (job.beta2 >= 0) cfg.adamw.beta2 = job.beta2;
  if (job.momentum >= 0) cfg.adamw.momentum = job.momentum;
  if (job.grad_clip >= 0) cfg.grad_clip = job.grad_clip;
  if (job.min_lr_ratio >= 0) cfg.min_lr_ratio = job.min_lr_ratio;
  cfg.validate();  // before anything is printed or joined (train() checks --save-at against the steps)
  auto step_evals = std::make_shared<StepEvaluations>(job, resolved.config, train_set);
  step_evals->workers = int(job.workers);

  auto dist = join_ranks(job.dist);
  const bool main_rank = !dist || dist->is_main();
  torch::Device device = parse_device(job.device, local_rank(dist.get()));
  Transformer model(resolved.config, derive_seed(job.seed, "init"));
  model->to(device);

  TrainRun run;
  run.out_dir = job.out;
  run.resume = job.resume;
  run.label = fmt::format("train {}", resolved.name);
  run.dist = dist.get();
  run.save_at = job.save_at;
  run.save_every = job.save_every;
  if (!job.eval_tasks.empty()) run.evaluate_tasks = [step_evals](Transformer& m, int64_t step) { return (*step_evals)(m, step); };
  nlohmann::json data_regime = {{"kind", fixed_set ? "fixed" : "stream"}};
  if (fixed_set) data_regime.update({{"train_examples", job.train_examples}, {"epochs", job.epochs}});
  run.meta = {{"preset", resolved.name},     {"recipe", recipe.name}, {"recipe_description", recipe.describe()},
              {"seed", job.seed},          {"parameters", resolved.config.param_count()},
              {"train_config", cfg.to_json()}, {"elab_version", elab_version()},
              {"data", data_regime},        {"eval_tasks", job.eval_tasks},
              // Summation order (not the data or the steps) depends on these: recorded so a
              // bit-for-bit rerun can use the same.
              {"workers", cfg.workers},          {"ranks", dist ? dist->world_size() : 1}};
  if (main_rank) {
    check_run_dir(run);
    fmt::print(stderr, "train: model {} ({} parameters), recipe {}{}, {} steps of {}x{} tokens, lr {:.2g}, seed {}{}\n",
               resolved.name, human_count(double(resolved.config.param_count())), recipe.name,
               fixed_set ? fmt::format(" ({} fixed examples)", job.train_examples) : "", cfg.steps, cfg.batch_size,
               cfg.seq_len, cfg.lr, job.seed,
               dist ? fmt::format(", {} ranks ({})", dist->world_size(), dist->options().backend) : "");
  }
  install_interrupt_handler();
  return train(model, *data, *heldout, cfg, run);
}

EvalResult run_eval_job(const EvalJob& job) {
  set_skip_bad_lines(job.skip_bad);
  const std::vector<std::string> members = task_group(job.task);
  // Built once (a file task reads its file), and checked before a model is loaded.
  std::unique_ptr<Task> task = members.empty() ? make_task(job.task) : nullptr;
  if (task && !job.spec.split.empty()) task->check_split(job.spec.split);
  parse_method(job.spec.method);  // fail on a bad method before loading a model
  BackendArgs args = job.backend;
  if (backend_for(job.model).scheme.empty()) {  // the native engine: the job's device and threads
    args.emplace("device", job.device);
    args.emplace("workers", std::to_string(job.workers));
  }
  auto backend = make_backend(job.model, args);
  EvalResult result = task ? evaluate(*backend, *task, job.task, job.spec)
                                      : evaluate_group(*backend, job.task, members, job.spec, job.on_member);
  // Models may emit bytes that are not UTF-8: JSON gets U+FFFD in their place.
  const auto replace = nlohmann::ordered_json::error_handler_t::replace;
  if (!job.json_path.empty()) write_output(job.json_path, to_json(result.summary).dump(2, ' ', false, replace) + "\n");
  if (!job.samples_path.empty()) {
    std::string lines;
    for (const auto& s : result.samples) lines += s.dump(-1, ' ', false, replace) + "\n";
    write_output(job.samples_path, lines);
  }
  return result;
}

}  // namespace elab
