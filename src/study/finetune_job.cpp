// The fine-tuning stage (protocol 3, docs/FINETUNING.md "Protocol"): choose the learning
// rate and the number of steps within the N examples, refit on all N, then check that the
// result answers its own training prompts in the format it was trained on.
//
// 1. Selection: k-fold cross-validation. Fold f holds out the examples i with i % k == f
//    and trains on the others, recording the held-out loss every eval_every steps
//    (stopping on patience). This runs for each rate of a grid a half-decade apart,
//    centred on the method's rate (lr_search rates); the (rate, step) of lowest held-out
//    loss averaged over the folds wins. A rate chosen at the end of its grid is tried
//    one half-decade further once; a choice still at an edge (of the rates, or the last
//    step of the budget while the loss still fell) is recorded as such, not hidden.
// 2. Refit: all N examples at the chosen rate, for the chosen steps, on the schedule the
//    folds ran. Its training curve is recorded.
// 3. Format check: the refit model answers (greedily, as evaluation does) up to 8 of its
//    own training prompts; the share answered in format and correctly is recorded, and
//    the report does not compare a model that has not learned its training format.
// No example outside the N, and no test item, is looked at.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>

#include "backends/native.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/progress.h"
#include "core/rng.h"
#include "eval/evaluate.h"
#include "model/adapters.h"
#include "model/device.h"
#include "model/model_cache.h"
#include "study/stages.h"
#include "tasks/example_stream.h"
#include "tasks/registry.h"
#include "train/trainer.h"

namespace elab {

namespace {

// One rate's folds: the held-out loss at each step every fold reached, averaged.
struct RateFit {
  double lr = 0;
  std::map<int64_t, double> mean_curve;  // step -> mean held-out loss
  std::vector<int64_t> fold_best;
  int64_t best_step = 0;
  double best_loss = std::numeric_limits<double>::infinity();
  bool ran_out = false;  // the best step is the budget's last and no fold stopped early
};

struct Selection {
  int64_t folds = 1;  // 1: no selection (the configured rate and steps on all N)
  int64_t steps = 0;
  double lr = 0;
  double cv_loss_before = 0, cv_loss = 0;
  std::vector<int64_t> fold_best;                  // each fold's best step at the chosen rate
  nlohmann::json rates = nlohmann::json::array();  // every rate tried: its curve and choice
  std::string edge;                                // why the choice is at the edge of its range; "" inside
};

RateFit fit_folds(const FinetuneJob& job, double lr, const std::vector<Example>& examples, const Task& task,
                  Format format, int64_t folds, DataParallel* dist) {
  const FinetuneConfig& cfg = job.config;
  const int64_t n = int64_t(examples.size());
  RateFit fit;
  fit.lr = lr;
  std::map<int64_t, std::pair<double, int64_t>> by_step;  // step -> (sum of held-out losses, folds)
  int64_t last_common = std::numeric_limits<int64_t>::max();
  for (int64_t f = 0; f < folds; ++f) {
    // The base is read from disk once (the cache); each fold trains a fresh copy.
    Checkpoint base = load_checkpoint_cached(job.base, parse_device(job.device, local_rank(dist)));
    std::vector<Example> train, held_out;
    for (int64_t i = 0; i < n; ++i) (i % folds == f ? held_out : train).push_back(examples[size_t(i)]);
    // k-shot rows (train_shots) show the fold's training examples, never its held-out ones.
    ExampleStream train_stream(train, format, task.instruction(), base.tokenizer,
                               derive_seed(cfg.seed, fmt::format("fold-order-{}", f)), true, cfg.train_shots);
    ExampleStream val_stream(held_out, format, task.instruction(), base.tokenizer, 0, false, cfg.train_shots, &train);
    FinetuneConfig fold_cfg = cfg;
    fold_cfg.lr = lr;
    fold_cfg.seq_len = std::max(train_stream.longest(), val_stream.longest()) - 1;
    fold_cfg.batch_size = std::min(cfg.batch_size, train_stream.size());
    if (dist)
      fold_cfg.batch_size =
          std::max<int64_t>(dist->world_size(), fold_cfg.batch_size - fold_cfg.batch_size % dist->world_size());
    auto trainable = prepare_finetune(base.model, fold_cfg);
    const auto r = finetune(base.model, trainable, train_stream, &val_stream, val_stream.size(), fold_cfg,
                            fmt::format("lr {:.2g} fold {}/{} {}", lr, f + 1, folds, cfg.method), dist);
    fit.fold_best.push_back(r.best_step);
    for (const auto& [step, loss] : r.val_curve) {
      by_step[step].first += loss;
      by_step[step].second += 1;
    }
    if (!r.val_curve.empty()) last_common = std::min(last_common, r.val_curve.back().first);
  }
  for (const auto& [step, acc] : by_step) {
    if (acc.second < folds) continue;  // a fold that stopped early has no later points
    fit.mean_curve[step] = acc.first / double(folds);
    if (fit.mean_curve[step] < fit.best_loss) fit.best_loss = fit.mean_curve[step], fit.best_step = step;
  }
  fit.ran_out = fit.best_step > 0 && fit.best_step == last_common && last_common >= cfg.steps;
  return fit;
}

nlohmann::json rate_json(const RateFit& r) {
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& [step, loss] : r.mean_curve) curve.push_back({step, loss});
  return {{"lr", r.lr}, {"best_step", r.best_step}, {"cv_loss", r.best_loss}, {"fold_best_steps", r.fold_best},
          {"curve", curve}};
}

// The rate `k` half-decades from the centre.
double rate_at(double centre, int k) { return centre * std::pow(10.0, 0.5 * k); }

Selection select_rate_and_steps(const FinetuneJob& job, const std::vector<Example>& examples, const Task& task,
                                Format format, DataParallel* dist) {
  const FinetuneConfig& cfg = job.config;
  Selection sel;
  sel.steps = cfg.steps;
  sel.lr = cfg.learning_rate();
  sel.folds = std::min(cfg.folds, int64_t(examples.size()));
  if (sel.folds < 2) {
    sel.folds = 1;
    return sel;
  }
  // The grid: lr_search rates a half-decade apart, centred on the configured rate.
  const int lo0 = -int(cfg.lr_search - 1) / 2, hi0 = lo0 + int(cfg.lr_search) - 1;
  std::map<int, RateFit> fits;
  auto fit_at = [&](int k) {
    if (!fits.count(k)) fits[k] = fit_folds(job, rate_at(sel.lr, k), examples, task, format, sel.folds, dist);
  };
  for (int k = lo0; k <= hi0; ++k) fit_at(k);
  auto best_k = [&] {
    int best = lo0;
    for (const auto& [k, f] : fits)
      if (f.best_loss < fits[best].best_loss) best = k;
    return best;
  };
  int k = best_k();
  // At an end of a grid of more than one rate: one more half-decade that way, once.
  if (cfg.lr_search > 1 && (k == fits.begin()->first || k == fits.rbegin()->first)) {
    fit_at(k == fits.begin()->first ? k - 1 : k + 1);
    k = best_k();
  }
  const RateFit& chosen = fits[k];
  sel.lr = chosen.lr;
  sel.steps = chosen.best_step;
  sel.cv_loss = chosen.best_loss;
  sel.cv_loss_before = chosen.mean_curve.count(0) ? chosen.mean_curve.at(0) : 0;
  sel.fold_best = chosen.fold_best;
  for (const auto& [_, f] : fits) sel.rates.push_back(rate_json(f));
  std::vector<std::string> edges;
  if (cfg.lr_search > 1 && (k == fits.begin()->first || k == fits.rbegin()->first))
    edges.push_back(fmt::format("the chosen rate {:.2g} is the {} of the {} tried", sel.lr,
                                k == fits.begin()->first ? "lowest" : "highest", fits.size()));
  if (chosen.ran_out)
    edges.push_back(fmt::format("the held-out loss still fell at the last step of the budget ({})", cfg.steps));
  if (chosen.best_step == 0) edges.push_back("no step beat the base's held-out loss");
  sel.edge = fmt::format("{}", fmt::join(edges, "; "));
  return sel;
}

// The fine-tuned model on up to `kFormatCheckItems` of its own training prompts, greedy,
// as evaluation prompts it: the share answered in format, and correctly.
constexpr int64_t kFormatCheckItems = 8;
// Below this share in format the job warns; the report refuses such a model by the same
// rule as any cell (at most kMaxUnanswered = 20% unanswered, report/findings.h).
constexpr double kFormatLearned = 0.8;

std::pair<double, double> answers_own_training_prompts(Checkpoint& tuned, const Task& task, const std::string& task_spec,
                                                       const std::vector<Example>& examples, Format format,
                                                       int64_t shots, int64_t workers) {
  const std::vector<Example> items(examples.begin(),
                                   examples.begin() + std::min<int64_t>(kFormatCheckItems, int64_t(examples.size())));
  NativeBackend backend(tuned);
  backend.workers = int(workers);
  EvalSpec spec;
  // Rows trained as k-shot prompts are checked as k-shot prompts.
  spec.method = format == Format::direct ? (shots > 0 ? fmt::format("icl:{}", shots) : "direct")
                                         : fmt::format("{}:{}", format_name(format), shots);
  spec.items = &items;
  spec.n = int64_t(items.size());
  spec.gold_logprob = false;
  spec.show_progress = false;
  spec.split = task.exemplar_split();
  const EvalSummary s = evaluate(backend, task, task_spec, spec).summary;
  return {1.0 - s.metrics.extract_fail, s.accuracy};
}

// Lampinen et al. 2025's augmented fine-tuning, with the model's own inferences: a
// training example its task marks "answer_by: in-context" (facts:augmented=self) is an
// inference to draw, not a given fact. The base answers it before any training, with
// every stated example of the N in context (the prompt mc:K would show), choosing among
// the item's options by likelihood; its choice, right or wrong, becomes the example's
// answer. Nothing outside the N is shown, and no test item.
struct SelfInferences {
  int64_t n = 0, shown = 0;
  double agreement = -1;  // the share of choices equal to the task's own answers
  nlohmann::json items = nlohmann::json::array();  // each: question, the base's answer, the task's
};

SelfInferences answer_inferences_in_context(Checkpoint& base, const Task& task, std::vector<Example>& examples,
                                            int64_t workers) {
  SelfInferences out;
  std::vector<Example> stated;
  std::vector<size_t> asked;
  for (size_t i = 0; i < examples.size(); ++i) {
    auto by = examples[i].attrs.find("answer_by");
    if (by == examples[i].attrs.end()) stated.push_back(examples[i]);
    else {
      check(by->second == "in-context", "task {}: example {} is to be answered by '{}'; the fine-tuning job knows 'in-context'",
            task.name(), i, by->second);
      asked.push_back(i);
    }
  }
  if (asked.empty()) return out;
  check(!stated.empty(), "task {}: every one of the {} training examples is an inference; the base needs stated ones in context",
        task.name(), examples.size());
  std::vector<std::string> prompts;
  std::vector<std::vector<std::string>> options;
  for (size_t i : asked) {
    options.push_back(task.answer_options(examples[i]));
    check(!options.back().empty(), "task {}: an inference to answer in context needs a closed answer set", task.name());
    prompts.push_back(render_few_shot(stated, Format::direct, examples[i]));
  }
  NativeBackend backend(base);
  backend.workers = int(workers);
  std::vector<std::vector<double>> logprobs;
  check(option_logprobs(backend, prompts, options, logprobs), "the base could not score the options of the inferences");
  int64_t agree = 0;
  for (size_t a = 0; a < asked.size(); ++a) {
    const auto& opts = options[a];
    const size_t best = size_t(std::max_element(logprobs[a].begin(), logprobs[a].end()) - logprobs[a].begin());
    Example& e = examples[asked[a]];
    agree += opts[best] == e.answer;
    out.items.push_back({{"question", e.question}, {"answer", opts[best]}, {"task_answer", e.answer}});
    e.answer = opts[best];
  }
  out.n = int64_t(asked.size());
  out.shown = int64_t(stated.size());
  out.agreement = double(agree) / double(asked.size());
  return out;
}

}  // namespace

FinetuneJobResult run_finetune_job(FinetuneJob job) {
  const auto started = std::chrono::steady_clock::now();
  FinetuneConfig& cfg = job.config;
  check(!job.base.empty(), "--base is required");
  check(!job.out.empty(), "--out is required");
  check(job.n_train > 0, "--n-train must be positive, got {}", job.n_train);
  cfg.lora.targets = parse_lora_targets(job.lora_targets);  // recorded only by the methods that use them
  cfg.validate();
  const Format format = parse_format(job.format);
  check(job.overwrite || !(fs::exists(fs::path(job.out) / "model.safetensors") ||
                           fs::exists(fs::path(job.out) / "adapter_config.json")),
        "{} already holds a model; choose another --out (or pass --overwrite)", job.out);
  check(fs::weakly_canonical(job.base) != fs::weakly_canonical(job.out), "--out must differ from --base");
  check(adapter_type(job.base).empty(), "--base {} is an adapter; fine-tune a full checkpoint (export --merge first)",
        job.base);

  auto task = make_task(job.task);
  auto examples = exemplars(*task, job.n_train, cfg.seed);  // Error when the pool is too small

  auto dist = join_ranks(job.dist);
  const bool main_rank = !dist || dist->is_main();
  // The base the refit trains; the folds load their own copies.
  Checkpoint base = load_checkpoint_cached(job.base, parse_device(job.device, local_rank(dist.get())));
  const SelfInferences inferred = answer_inferences_in_context(base, *task, examples, cfg.workers);
  if (main_rank && inferred.n > 0)
    fmt::print(stderr, "finetune {}: {} inferences answered by the base with {} stated examples in context, {:.0f}% as the task answers them\n",
               cfg.method, inferred.n, inferred.shown, 100 * inferred.agreement);
  ExampleStream train_stream(examples, format, task->instruction(), base.tokenizer,
                             derive_seed(cfg.seed, "finetune-order"), true, cfg.train_shots);
  const ModelConfig& base_config = base.config;
  check(train_stream.longest() <= base_config.max_seq_len,
        "task {}: an example in format {} has {} tokens, more than the model's context of {}", job.task, job.format,
        train_stream.longest(), base_config.max_seq_len);
  if (const auto& method = find_finetune_method(cfg.method); method.check_base) method.check_base(cfg, base_config);
  if (dist)
    check(std::min(cfg.batch_size, train_stream.size()) >= dist->world_size(),
          "{} training examples cannot be shared by {} ranks", train_stream.size(), dist->world_size());

  install_interrupt_handler();
  const Selection sel = select_rate_and_steps(job, examples, *task, format, dist.get());
  // The refit: all N examples, the chosen rate and steps on the schedule the folds ran.
  FinetuneConfig fit = cfg;
  fit.lr = sel.lr;
  fit.seq_len = train_stream.longest() - 1;
  fit.batch_size = std::min(cfg.batch_size, train_stream.size());
  if (dist) fit.batch_size -= fit.batch_size % dist->world_size();  // equal shares of each batch
  fit.stop_at = std::max<int64_t>(1, sel.steps);  // at least one step, so that the result is a trained model
  auto trainable = prepare_finetune(base.model, fit);
  if (main_rank)
    fmt::print(stderr, "finetune {}: {} on {} (N={}; {}), {} trainable parameters\n", cfg.method, job.base, job.task,
               job.n_train,
               sel.folds > 1 ? fmt::format("{}-fold selection chose lr {:.2g} and {} steps", sel.folds, sel.lr, fit.stop_at)
                             : fmt::format("no selection, lr {:.2g} and {} steps", sel.lr, fit.stop_at),
               human_count(double([&] { int64_t n = 0; for (auto& [k, p] : trainable) n += p.numel(); return n; }())));
  if (main_rank && !sel.edge.empty()) fmt::print(stderr, "finetune {}: selection at the edge of its range: {}\n", cfg.method, sel.edge);
  FinetuneJobResult result;
  result.run = finetune(base.model, trainable, train_stream, nullptr, 0, fit, "finetune " + cfg.method, dist.get());
  result.run.first_val_loss = sel.cv_loss_before;
  result.run.best_val_loss = sel.cv_loss;
  result.run.best_step = sel.steps;  // what the selection chose (0: no step beat the base; the refit still takes one)
  result.main_rank = main_rank;
  result.n_train = int64_t(examples.size());
  result.folds = sel.folds;
  const auto [train_answered, train_accuracy] =
      answers_own_training_prompts(base, *task, job.task, examples, format, cfg.train_shots, cfg.workers);
  if (main_rank && train_answered < kFormatLearned)
    fmt::print(stderr, "finetune {}: has not learned its training format: {:.0f}% of {} training prompts answered in format\n",
               cfg.method, 100 * train_answered, std::min<int64_t>(kFormatCheckItems, result.n_train));

  nlohmann::json info = cfg.to_json();
  info["lr"] = sel.lr;
  info.update({{"task", job.task},
               {"n_train", job.n_train},
               {"n_validation", 0},
               {"fold_best_steps", sel.fold_best},
               {"format", job.format},
               {"examples", train_stream.describe()},
               {"base", fs::absolute(job.base).lexically_normal().string()},
               {"base_hash", checkpoint_hash(job.base)},
               {"steps_done", result.run.steps_done},
               {"best_step", result.run.best_step},
               {"val_loss_before", result.run.first_val_loss},  // mean over the folds' held-out examples
               {"val_loss_best", result.run.best_val_loss},
               {"selection", {{"rates", sel.rates}, {"edge", sel.edge}}},
               {"train_curve", result.run.train_curve},
               {"self_inferences",
                {{"n", inferred.n}, {"shown", inferred.shown}, {"agreement", inferred.agreement}, {"items", inferred.items}}},
               {"train_answered", train_answered},
               {"train_accuracy", train_accuracy},
               {"trainable_parameters", result.run.trainable_parameters},
               {"seconds", result.run.seconds},  // the refit's
               {"job_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
  nlohmann::json meta = base.meta;
  meta["finetune"] = info;
  result.meta = meta;
  result.outcome = std::get<FinetuneOutcome>(job_result_from_json("finetune", info, job.out));
  std::vector<NamedBytes> log = {{"train_log.jsonl", result.run.log}};
  if (!main_rank) return result;  // rank 0 writes the model; every rank holds the same weights
  const FinetuneMethod& method = find_finetune_method(cfg.method);
  if (method.adapter_config)
    save_adapter(job.out, base.model, job.base, method.adapter_config(cfg, base.config), meta, log);
  else
    save_checkpoint(job.out, base.model, meta, log, base.tokenizer);
  return result;
}

}  // namespace elab
