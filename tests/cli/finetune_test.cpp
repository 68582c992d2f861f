// Fine-tuning end to end, through the same jobs the command line runs: a small base
// pre-trained here for ~15 s, then full / LoRA fine-tuning on a task the base never saw.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "backends/native.h"
#include "eval/evaluate.h"
#include "study/stages.h"
#include "core/threads.h"
#include "model/adapters.h"
#include "model/config.h"
#include "tasks/example_stream.h"
#include "tasks/registry.h"
#include "test_util.h"

namespace elab {
namespace {

using testing::TempDir;

// ctest runs every test in its own process, so only the first test pre-trains its base;
// the others need a base only to exist and use an untrained one.
class FinetuneEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override { configure_threads({1, 0}); }
  void pretrain_base() {
    TrainJob job;  // measured: ~16 s; lastletter zero-shot 0.000, full fine-tune N=256 0.135
    job.preset = "s";
    job.recipe = "base";  // holds out lastletter
    job.tokens = 1000000;
    job.out = base();
    run_train_job(job);
  }
  void untrained_base() {
    Transformer model(find_preset("s").config, 1);
    save_checkpoint(base(), model, {{"preset", "s"}});
  }
  std::string base() const { return (dir_ / "base").string(); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  double accuracy(const std::string& model, const std::string& task, const std::string& method,
                  double* ci_low = nullptr) {
    EvalJob job;
    job.model = model;
    job.task = task;
    job.spec.method = method;
    job.spec.n = 200;
    auto r = run_eval_job(job);
    if (ci_low) *ci_low = r.summary.ci_lo;
    return r.summary.accuracy;
  }

  FinetuneJob job(const std::string& method, int64_t n, const std::string& out) const {
    FinetuneJob j;
    j.base = base();
    j.task = "lastletter";
    j.n_train = n;
    j.out = path(out);
    j.config.method = method;
    return j;
  }

  TempDir dir_;
};

TEST_F(FinetuneEndToEnd, FullAndLoraOnLastletter) {
  pretrain_base();
  const double zero_shot = accuracy(base(), "lastletter", "direct");
  auto full = job("full", 256, "full-256");
  full.config.folds = 2;    // two folds and the refit: a third of the default's training time
  full.config.lr = 1e-3;    // this test's base is trained briefly: the defaults are for the shipped ladder
  full.config.steps = 150;
  full.config.lr_search = 1;  // the rate as given (the search has its own test below)
  auto r = run_finetune_job(full);
  EXPECT_EQ(r.n_train, 256) << "every one of the N is trained on";
  EXPECT_EQ(r.folds, 2);
  EXPECT_LT(r.run.best_val_loss, r.run.first_val_loss) << "the chosen step's held-out loss is below the base's";
  EXPECT_EQ(r.meta["finetune"]["fold_best_steps"].size(), 2u);
  double low = 0;
  const double tuned = accuracy(path("full-256"), "lastletter", "direct", &low);
  std::cout << "lastletter: zero-shot " << zero_shot << ", full fine-tuning N=256 " << tuned << "\n";
  EXPECT_GT(low, zero_shot) << "the 95% CI of the fine-tuned model lies above the base";

  Checkpoint before = load_checkpoint(base());
  auto lora_job = job("lora", 64, "lora-64");
  lora_job.config.lr_search = 1;
  auto lora = run_finetune_job(lora_job);
  EXPECT_GT(lora.run.steps_done, 0);
  EXPECT_EQ(adapter_type(path("lora-64")), "lora");
  // The base directory's tensors are bit-identical after training an adapter on it.
  Checkpoint after = load_checkpoint(base());
  auto a = named_weights(*before.model), b = named_weights(*after.model);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;

  // ICL retention: in-context learning on another task, through the adapter, next to the
  // base. The gold answers' log-probability moves, so the adapter is applied.
  EvalJob icl;
  icl.task = "add";
  icl.spec.method = "icl:2";
  icl.model = base();
  auto base_icl = run_eval_job(icl).summary;
  icl.model = path("lora-64");
  auto tuned_icl = run_eval_job(icl).summary;
  std::cout << "add icl:2: base " << base_icl.accuracy << ", after LoRA on lastletter " << tuned_icl.accuracy << "\n";
  EXPECT_EQ(tuned_icl.n, 200);
  EXPECT_NE(tuned_icl.metrics.gold_logprob.value(), base_icl.metrics.gold_logprob.value());
  // The expectation computed apart from the evaluator: the same 200 icl:2 prompts decoded
  // greedily through the adapter, each answer read by the task's rule and compared with
  // its gold answer.
  {
    auto add = make_task("add");
    const Method m = parse_method("icl:2");
    const auto items = test_items(*add, "id", 200, icl.spec.seed);
    const auto shots = method_exemplars(*add, m, icl.spec.seed, 0, false);
    std::vector<std::string> prompts;
    for (const auto& item : items) prompts.push_back(method_prompt(m, shots, item));
    NativeBackend tuned(load_model_dir(path("lora-64")));
    GenerateOptions g;
    g.max_new_tokens = default_max_new_tokens(m);
    g.batch_size = 64;  // as the evaluator decodes
    g.stop = stop_sequences(m.format);
    g.show_progress = false;
    const auto outputs = tuned.complete(prompts, g);
    int64_t hits = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      const bool ok = add->is_correct(add->extract_answer(outputs[i].text), items[i].answer);
      hits += ok;
      EXPECT_EQ(tuned_icl.item_correct[i], int(ok)) << i;
    }
    EXPECT_DOUBLE_EQ(tuned_icl.accuracy, double(hits) / 200.0);
  }

  // Merged export evaluates like the adapter.
  Checkpoint adapter = load_model_dir(path("lora-64"));
  merge_lora(adapter.model);
  save_checkpoint(path("lora-64-merged"), adapter.model, adapter.meta);
  EXPECT_EQ(accuracy(path("lora-64-merged"), "lastletter", "direct"), accuracy(path("lora-64"), "lastletter", "direct"));
}

// Fair budgets: with one seed, icl:K's exemplars are the first K of fine-tuning's N, and
// the fine-tuning set is exactly those N: the folds that choose the step count split
// them, and the refit trains on all of them.
TEST_F(FinetuneEndToEnd, IclExemplarsAreTheFirstKOfTheFineTuningExamples) {
  untrained_base();
  auto task = make_task("lastletter");
  auto n = exemplars(*task, 16, 3), k = exemplars(*task, 4, 3);
  for (size_t i = 0; i < k.size(); ++i) EXPECT_EQ(k[i].key, n[i].key);
  auto j = job("prefix", 16, "prefix-16");
  j.config.seed = 3;
  j.config.steps = 5;
  auto r = run_finetune_job(j);
  EXPECT_EQ(r.n_train, 16);
  EXPECT_EQ(r.folds, 4);
  ExampleStream expected(n, Format::direct, task->instruction(), Tokenizer(), 0, false);
  auto hash_of = [](const std::string& describe) { return describe.substr(describe.find("hash="), 21); };
  EXPECT_EQ(hash_of(r.meta["finetune"]["examples"].get<std::string>()), hash_of(expected.describe()));
  // The refit runs the chosen number of steps; each fold's best step is at most its budget.
  const auto& info = r.meta["finetune"];
  ASSERT_EQ(info["fold_best_steps"].size(), 4u);
  for (const auto& b : info["fold_best_steps"]) EXPECT_LE(b.get<int64_t>(), 5);
  EXPECT_EQ(r.run.steps_done, std::max<int64_t>(1, info["best_step"].get<int64_t>()));
  // One fold: no selection, exactly --steps on all N.
  auto fixed = job("lora", 16, "lora-fixed");
  fixed.config.folds = 1;
  fixed.config.steps = 7;
  EXPECT_EQ(run_finetune_job(fixed).run.steps_done, 7);
  // A fold per example at most (leave-one-out).
  auto tiny = job("lora", 3, "lora-3");
  tiny.config.steps = 4;
  EXPECT_EQ(run_finetune_job(tiny).folds, 3);
}

// Protocol 3: the folds search the learning rate with the steps (rates a half-decade
// apart, one more beyond an end the choice lands on), the refit runs the chosen pair,
// and the job records its training curve and how it answers its own training prompts.
TEST_F(FinetuneEndToEnd, TheSelectionSearchesTheRateWithTheSteps) {
  untrained_base();
  auto j = job("lora", 8, "lora-search");
  j.config.folds = 2;
  j.config.steps = 6;
  j.config.eval_every = 2;
  j.config.lr = 1e-3;
  auto r = run_finetune_job(j);
  const auto& info = r.meta["finetune"];
  const auto& rates = info["selection"]["rates"];
  ASSERT_GE(rates.size(), 3u);
  ASSERT_LE(rates.size(), 4u);
  std::vector<double> lrs;
  double best = 1e300, best_lr = 0;
  for (const auto& x : rates) {
    lrs.push_back(x["lr"].get<double>());
    EXPECT_EQ(x["fold_best_steps"].size(), 2u);
    if (x["cv_loss"].get<double>() < best) best = x["cv_loss"].get<double>(), best_lr = lrs.back();
  }
  for (size_t i = 1; i < lrs.size(); ++i) EXPECT_NEAR(lrs[i] / lrs[i - 1], std::sqrt(10.0), 1e-9);
  EXPECT_EQ(std::count_if(lrs.begin(), lrs.end(), [](double x) { return std::abs(x - 1e-3) < 1e-12; }), 1)
      << "the given rate is searched";
  EXPECT_NEAR(std::log10(lrs.front() * lrs.back()), lrs.size() == 3 ? -6.0 : lrs.front() < 2e-4 ? -6.5 : -5.5, 1e-9)
      << "centred on it (or one more that way)";
  EXPECT_DOUBLE_EQ(info["lr"].get<double>(), best_lr) << "the refit trains at the chosen rate";
  EXPECT_EQ(r.run.steps_done, std::max<int64_t>(1, info["best_step"].get<int64_t>()));
  // A choice at an end of the first three rates was extended one rate that way.
  const bool at_end_of_three = best_lr == lrs.front() || best_lr == lrs.back();
  if (rates.size() == 3u) EXPECT_FALSE(at_end_of_three);
  if (best_lr == lrs.front() || best_lr == lrs.back())
    EXPECT_NE(info["selection"]["edge"].get<std::string>().find("the chosen rate"), std::string::npos);
  EXPECT_EQ(info["train_curve"].size(), size_t(r.run.steps_done));
  const double answered = info["train_answered"].get<double>();
  EXPECT_GE(answered, 0.0);
  EXPECT_LE(answered, 1.0);
  EXPECT_EQ(r.outcome.train_answered, answered);
  // lr_search = 1: the given rate alone.
  auto one = job("lora", 8, "lora-one-rate");
  one.config.folds = 2;
  one.config.steps = 4;
  one.config.lr_search = 1;
  auto o = run_finetune_job(one);
  EXPECT_EQ(o.meta["finetune"]["selection"]["rates"].size(), 1u);
  EXPECT_DOUBLE_EQ(o.meta["finetune"]["lr"].get<double>(), default_finetune_lr("lora"));
}

// Lampinen et al.'s augmented fine-tuning with the model's own inferences
// (facts:augmented=self): before training, the base answers each inference with the 12
// stated facts in context, choosing between its options by likelihood, and those answers
// are what it trains on. Checked against the base's own scores, computed here apart.
// And Bornschein et al.'s k-shot rows: the job trains and records them.
TEST_F(FinetuneEndToEnd, OwnInferencesAreTheBasesInContextChoicesAndKShotRowsTrain) {
  untrained_base();
  auto j = job("lora", 30, "self");
  j.task = "facts:augmented=self";
  j.config.folds = 1;
  j.config.steps = 2;
  auto r = run_finetune_job(j);
  const auto& inferred = r.meta["finetune"]["self_inferences"];
  ASSERT_EQ(inferred["n"].get<int64_t>(), 18) << inferred;  // 12 reversals, 6 compositions
  EXPECT_EQ(inferred["shown"].get<int64_t>(), 12);
  ASSERT_EQ(inferred["items"].size(), 18u);
  auto task = make_task(j.task);
  const auto pool = exemplars(*task, 30, j.config.seed);
  std::vector<Example> stated, asked;
  for (const auto& e : pool) (e.attrs.count("answer_by") ? asked : stated).push_back(e);
  Checkpoint untrained = load_checkpoint(base());
  NativeBackend backend(untrained);
  int agree = 0;
  for (size_t i = 0; i < asked.size(); ++i) {
    const auto options = task->answer_options(asked[i]);
    std::vector<double> lp;
    ASSERT_TRUE(backend.score({render_few_shot(stated, Format::direct, asked[i]), render_few_shot(stated, Format::direct, asked[i])},
                              {" " + options[0], " " + options[1]}, lp));
    const std::string choice = lp[1] > lp[0] ? options[1] : options[0];
    EXPECT_EQ(inferred["items"][i]["question"], asked[i].question);
    EXPECT_EQ(inferred["items"][i]["answer"], choice) << asked[i].question;
    EXPECT_EQ(inferred["items"][i]["task_answer"], asked[i].answer);
    agree += choice == asked[i].answer;
  }
  EXPECT_DOUBLE_EQ(inferred["agreement"].get<double>(), agree / 18.0);
  // The oracle pool trains on the task's answers: nothing is inferred.
  auto oracle = job("lora", 30, "oracle");
  oracle.task = "facts:augmented=1";
  oracle.config.folds = 1;
  oracle.config.steps = 1;
  EXPECT_EQ(run_finetune_job(oracle).meta["finetune"]["self_inferences"]["n"].get<int64_t>(), 0);

  auto kshot = job("lora", 12, "kshot");
  kshot.task = "facts";
  kshot.config.folds = 2;
  kshot.config.lr_search = 1;
  kshot.config.steps = 2;
  kshot.config.eval_every = 1;
  kshot.config.train_shots = 3;
  auto k = run_finetune_job(kshot);
  EXPECT_NE(k.meta["finetune"]["examples"].get<std::string>().find(" shots=3"), std::string::npos) << k.meta["finetune"];
  EXPECT_EQ(k.meta["finetune"]["train_shots"].get<int64_t>(), 3);
  EXPECT_GE(k.run.steps_done, 1);
  kshot.config.train_shots = 12;  // more than the 11 others a fact has
  kshot.config.folds = 1;
  kshot.overwrite = true;
  EXPECT_NE(testing::error_of([&] { run_finetune_job(kshot); }).find("needs 12 other training examples"), std::string::npos);
}

TEST_F(FinetuneEndToEnd, BadInputIsRefusedBeforeAnythingIsWritten) {
  untrained_base();
  auto too_many = job("lora", 100000, "never");
  EXPECT_NE(testing::error_of([&] { run_finetune_job(too_many); }).find("fewer than 100000 distinct problems"),
            std::string::npos);
  auto rank = job("lora", 16, "never");
  rank.config.lora.rank = 0;
  EXPECT_NE(testing::error_of([&] { run_finetune_job(rank); }).find("--rank must be positive"), std::string::npos);
  auto prefix = job("prefix", 16, "never");
  prefix.config.prefix.length = 10000;
  EXPECT_NE(testing::error_of([&] { run_finetune_job(prefix); }).find("beyond the model's context"), std::string::npos);
  auto missing = job("full", 16, "never");
  missing.base = path("nowhere");
  EXPECT_NE(testing::error_of([&] { run_finetune_job(missing); }).find("does not exist"), std::string::npos);
  auto method = job("adapters", 16, "never");
  EXPECT_NE(testing::error_of([&] { run_finetune_job(method); }).find("unknown fine-tuning method"), std::string::npos);
  EXPECT_FALSE(fs::exists(path("never")));
}

}  // namespace
}  // namespace elab
