// Experiment control (elab train's flags through run_train_job): model shapes from flags,
// attention-only blocks, SGD and AdamW against libtorch's own optimisers, schedules, a
// fixed training set with epochs and full batches, task accuracy during training,
// snapshots, bit-identical resume with all of them, bad input refused before anything is
// written, and the transition step that `elab plot` marks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include "core/fs.h"
#include "model/checkpoint.h"
#include "report/curves.h"
#include "report/report.h"
#include "study/stages.h"
#include "study/plan.h"
#include "study/pretrain_settings.h"
#include "study/run.h"
#include "study/spec.h"
#include "study/store.h"
#include "tasks/registry.h"
#include "test_util.h"

namespace elab {
namespace {

using testing::error_of;
using testing::TempDir;

TEST(ModelShape, FlagsOverrideThePresetAndNameTheShape) {
  EXPECT_EQ(resolve_model({.preset = "m"}).name, "m");
  EXPECT_EQ(resolve_model({.preset = "m"}).config.to_hf_json(), find_preset("m").config.to_hf_json());
  auto attn = resolve_model({.d_model = 64, .layers = 2, .heads = 4, .mlp = "none"});
  EXPECT_EQ(attn.name, "d64-L2-H4-attn");
  EXPECT_EQ(attn.config.ffn_hidden, 0);
  EXPECT_EQ(attn.config.n_kv_heads, 4);
  auto gqa = resolve_model({.preset = "s", .heads = 4, .kv_heads = 2, .no_tie = true});
  EXPECT_EQ(gqa.config.d_model, 48);
  EXPECT_EQ(gqa.config.n_kv_heads, 2);
  EXPECT_FALSE(gqa.config.tie_embeddings);
  EXPECT_EQ(gqa.name, "d48-L2-H4-K2-untied");
  EXPECT_NEAR(resolve_model({.d_model = 256}).lr, 1.5e-3, 1e-12);  // the ladder's rule for the width
  EXPECT_EQ(resolve_model({.d_model = 64}).config.n_heads, 4);      // head dimension 16

  // The parameter count is the model's: attention-only blocks have no MLP and one norm.
  for (const auto& shape : {attn.config, gqa.config}) {
    Transformer t(shape, 1);
    int64_t numel = 0;
    for (const auto& [name, p] : named_weights(*t)) numel += p.numel();
    EXPECT_EQ(numel, shape.param_count());
    EXPECT_EQ(ModelConfig::from_hf_json(shape.to_hf_json(), "x").to_hf_json(), shape.to_hf_json());
    auto logits = t->forward(torch::randint(0, 256, {2, 5}, torch::kLong));
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 5, 260}));
  }
  Transformer t(attn.config, 1);
  for (const auto& [name, p] : named_weights(*t)) EXPECT_EQ(name.find("mlp"), std::string::npos) << name;

  for (auto [shape, message] : std::vector<std::pair<ModelShape, std::string>>{
           {{.d_model = 50, .heads = 4}, "--heads 4 does not divide --d-model 50"},
           {{.heads = 3, .kv_heads = 2}, "does not divide"},
           {{.layers = -2}, "--layers must be positive"},
           {{.ffn = 0}, "attention-only blocks are --mlp none"},
           {{.mlp = "gelu"}, "--mlp must be swiglu or none"},
           {{.preset = "s", .config_file = "x.json"}, "give one"},
           {{.preset = "nope"}, "nope"}})
    EXPECT_NE(error_of([&] { resolve_model(shape); }).find(message), std::string::npos) << message;
}

// The same update as libtorch's own optimisers, step for step.
TEST(Optimizer, SgdAndAdamWMatchLibtorch) {
  torch::manual_seed(3);
  auto init = torch::randn({6, 5});
  std::vector<torch::Tensor> grads;
  for (int i = 0; i < 6; ++i) grads.push_back(torch::randn({6, 5}));
  auto run = [&](auto&& step_ours, auto&& step_torch) {
    auto a = init.clone().requires_grad_(true), b = init.clone().requires_grad_(true);
    for (const auto& g : grads) {
      a.mutable_grad() = g.clone();
      b.mutable_grad() = g.clone();
      step_ours(a);
      step_torch(b);
    }
    return (a - b).abs().max().item<double>();
  };
  for (double wd : {0.0, 0.5}) {
    AdamWConfig sgd_cfg;
    sgd_cfg.kind = "sgd";
    sgd_cfg.momentum = 0.9;
    sgd_cfg.weight_decay = 0;  // torch.optim.SGD's weight decay is L2 (coupled); compare without
    std::unique_ptr<AdamW> ours;
    std::unique_ptr<torch::optim::SGD> theirs;
    double diff = run(
        [&](torch::Tensor& p) {
          if (!ours) ours = std::make_unique<AdamW>(std::vector<std::pair<std::string, torch::Tensor>>{{"w", p}}, sgd_cfg);
          ours->step(0.05);
        },
        [&](torch::Tensor& p) {
          if (!theirs) theirs = std::make_unique<torch::optim::SGD>(std::vector<torch::Tensor>{p}, torch::optim::SGDOptions(0.05).momentum(0.9));
          theirs->step();
        });
    EXPECT_LT(diff, 1e-6) << "sgd";

    AdamWConfig adam_cfg;
    adam_cfg.beta1 = 0.9, adam_cfg.beta2 = 0.98, adam_cfg.eps = 1e-8, adam_cfg.weight_decay = wd;
    std::unique_ptr<AdamW> ours2;
    std::unique_ptr<torch::optim::AdamW> theirs2;
    diff = run(
        [&](torch::Tensor& p) {
          if (!ours2) ours2 = std::make_unique<AdamW>(std::vector<std::pair<std::string, torch::Tensor>>{{"w", p}}, adam_cfg);
          ours2->step(0.01);
        },
        [&](torch::Tensor& p) {
          if (!theirs2)
            theirs2 = std::make_unique<torch::optim::AdamW>(
                std::vector<torch::Tensor>{p}, torch::optim::AdamWOptions(0.01).betas({0.9, 0.98}).eps(1e-8).weight_decay(wd));
          theirs2->step();
        });
    EXPECT_LT(diff, 1e-6) << "adamw, weight decay " << wd;
  }
}

TEST(Schedule, ConstantAndLinearAfterWarmup) {
  LrSchedule constant{1.0, 0.1, 10, 110, "constant"}, linear{1.0, 0.1, 10, 110, "linear"};
  EXPECT_NEAR(constant.at(0), 0.1, 1e-12);
  EXPECT_NEAR(constant.at(50), 1.0, 1e-12);
  EXPECT_NEAR(constant.at(110), 1.0, 1e-12);
  EXPECT_NEAR(linear.at(60), 0.55, 1e-12);
  EXPECT_NEAR(linear.at(35), 0.775, 1e-12);
  EXPECT_NEAR(linear.at(110), 0.1, 1e-12);
  EXPECT_THROW(check_schedule_kind("step"), Error);
}

// A tiny attention-only model on a fixed set of modular-addition problems, full batch.
TrainJob tiny_job(const fs::path& out) {
  TrainJob j;
  j.shape = {.d_model = 32, .layers = 1, .heads = 2, .mlp = "none"};
  j.recipe = "task:modadd:p=13";
  j.out = out.string();
  j.seed = 5;
  j.train_examples = 24;
  j.epochs = 12;
  j.batch_size = kBatchAll;
  j.lr = 3e-3;
  j.warmup_steps = 2;
  j.eval_every = 4;
  j.eval_tasks = {"modadd:p=13@id", "modadd:p=13@ood@icl:2"};
  j.eval_n = 4;
  j.save_at = {4, 8};
  j.weight_decay = 1.0;
  j.schedule = "constant";
  j.workers = 2;
  return j;
}

std::vector<nlohmann::json> log_evals(const fs::path& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir / "train_log.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("evals")) out.push_back({{"step", j["step"]}, {"evals", j["evals"]}});
  }
  return out;
}

TEST(ExperimentControl, FixedSetEvalsSnapshotsAndBitIdenticalResume) {
  TempDir dir;
  for (const char* optimizer : {"adamw", "sgd"}) {
    TrainJob whole = tiny_job(dir / (std::string(optimizer) + "-whole"));
    whole.optimizer = optimizer;
    if (std::string(optimizer) == "sgd") whole.schedule = "linear", whole.lr = 0.05;
    auto r = run_train_job(whole);
    EXPECT_EQ(r.steps_done, 12);  // 12 epochs of 24 examples, one full batch each
    EXPECT_TRUE(r.complete);

    TrainJob part = whole;
    part.out = (dir / (std::string(optimizer) + "-part")).string();
    part.stop_after = 6;
    EXPECT_FALSE(run_train_job(part).complete);
    part.stop_after = 0;
    part.resume = true;
    EXPECT_TRUE(run_train_job(part).complete);

    EXPECT_EQ(read_file(fs::path(whole.out) / "model.safetensors"), read_file(fs::path(part.out) / "model.safetensors"))
        << optimizer << ": resume is bit-identical";
    for (int step : {4, 8})
      EXPECT_EQ(read_file(snapshot_dir(whole.out, step) / "model.safetensors"),
                read_file(snapshot_dir(part.out, step) / "model.safetensors"))
          << optimizer << " snapshot " << step;
    EXPECT_FALSE(fs::exists(snapshot_dir(whole.out, 12)));
    auto evals = log_evals(whole.out);
    ASSERT_EQ(evals.size(), 3u);  // steps 4, 8, 12
    EXPECT_EQ(evals, log_evals(part.out)) << "evaluations during training are the same after a resume";
    for (const auto& e : evals) {
      for (const char* name : {"modadd:p=13@id", "modadd:p=13@ood@icl:2"}) {
        ASSERT_TRUE(e["evals"].contains(name)) << e.dump();
        const auto& x = e["evals"][name];
        EXPECT_GE(x["accuracy"].get<double>(), 0.0);
        EXPECT_EQ(x["n"], 4);
        EXPECT_TRUE(x["answer_loss"].get<double>() > 0) << x.dump();
        EXPECT_LE(x["ci95"][0].get<double>(), x["accuracy"].get<double>());
      }
    }
    auto meta = read_json_file(fs::path(whole.out) / "meta.json");
    EXPECT_EQ(meta["preset"], "d32-L1-H2-attn");
    EXPECT_EQ(meta["data"]["train_examples"], 24);
    EXPECT_EQ(meta["train_config"]["weight_decay"], 1.0);
    EXPECT_EQ(meta["train_config"]["batch_size"], 24);
    EXPECT_EQ(meta["train_config"].value("optimizer", "adamw"), optimizer);
    // The curves of the run, as `elab plot` reads them.
    auto curves = read_run_curves(whole.out);
    ASSERT_EQ(curves.accuracies.size(), 2u);
    EXPECT_EQ(curves.accuracies[0].steps, (std::vector<double>{4, 8, 12}));
    EXPECT_NE(run_curves_svg(curves, "x").find("modadd:p=13@id accuracy"), std::string::npos);
  }
  // The same seed, the same run; another seed, another run.
  TrainJob again = tiny_job(dir / "again");
  run_train_job(again);
  EXPECT_EQ(read_file(fs::path(again.out) / "model.safetensors"), read_file(dir / "adamw-whole" / "model.safetensors"));
  TrainJob other = tiny_job(dir / "other");
  other.seed = 6;
  run_train_job(other);
  EXPECT_NE(read_file(fs::path(other.out) / "model.safetensors"), read_file(dir / "adamw-whole" / "model.safetensors"));
}

TEST(ExperimentControl, TheFixedTrainingSetNeverHoldsATestItem) {
  for (const char* spec : {"modadd:p=31", "add", "lastletter"}) {
    auto task = make_task(spec);
    auto train_set = fixed_training_set(*task, 40, 5);
    std::set<std::string> keys;
    for (const auto& e : train_set) keys.insert(e.key);
    EXPECT_EQ(keys.size(), 40u) << spec << ": distinct problems";
    for (const auto& split : task->split_names())
      for (const auto& item : test_items(*task, split, 8, 5)) EXPECT_FALSE(keys.count(item.key)) << spec << " " << split;
  }
}

TEST(ExperimentControl, BadInputIsRefusedBeforeAnythingIsWritten) {
  TempDir dir;
  auto refused = [&](auto&& edit, const std::string& message) {
    TrainJob j = tiny_job(dir / "out");
    edit(j);
    const std::string msg = error_of([&] { run_train_job(j); });
    EXPECT_NE(msg.find(message), std::string::npos) << "wanted '" << message << "', got '" << msg << "'";
    EXPECT_FALSE(fs::exists(dir / "out")) << message;
  };
  refused([](TrainJob& j) { j.shape.heads = 3; }, "--heads 3 does not divide --d-model 32");
  refused([](TrainJob& j) { j.shape.d_model = -8; }, "--d-model must be positive");
  refused([](TrainJob& j) { j.train_examples = 0; }, "--epochs needs a fixed training set");
  refused([](TrainJob& j) { j.train_examples = 0, j.epochs = 0, j.tokens = 1000; }, "--batch all needs a fixed training set");
  refused([](TrainJob& j) { j.save_at = {4, 13}; }, "--save-at 13: the run has steps 1 to 12");
  refused([](TrainJob& j) { j.tokens = 100; }, "give --tokens or --epochs, not both");
  refused([](TrainJob& j) { j.shape.max_seq_len = 40, j.eval_tasks = {"modadd:p=13@id@icl:4"}; }, "does not fit the model's context of 40");
  refused([](TrainJob& j) { j.eval_tasks = {"modadd:p=13@nosuchsplit"}; }, "nosuchsplit");
  refused([](TrainJob& j) { j.schedule = "step"; }, "--schedule must be cosine, constant or linear");
  refused([](TrainJob& j) { j.optimizer = "lion"; }, "--optimizer must be adamw or sgd");
  refused([](TrainJob& j) { j.recipe = "base"; }, "--train-examples needs a recipe of one task");
}

// A study of [[model]] tables and a [[sweep]] with experiment control: fixed training
// sets, evaluations during training (into the database) and evaluated snapshots (a
// training-step axis in the report).
TEST(ExperimentControl, StudiesOfShapesSweepsSnapshotsAndCurves) {
  TempDir dir;
  const std::string toml = fmt::format(R"(
[study]
name = "control"
dir = "{}"

[pretrain]
recipes = ["task:modadd:p=13"]
batch = "all"
train_examples = 24
epochs = 8
weight_decay = 1.0
schedule = "constant"
warmup = 2
lr = 0.003
eval_tasks = ["modadd:p=13@train", "modadd:p=13@ood"]
eval_every = 4
eval_n = 4
save_at = [4]

[[model]]
name = "attn-1"
d_model = 32
layers = 1
heads = 2
mlp = "none"

[[sweep]]
d_model = 32
heads = 2
vary = "layers"
values = [1, 2]

[[evaluate]]
tasks = ["modadd:p=13"]
splits = ["id"]
methods = ["direct"]
n = 4
snapshots = true
)", (dir / "study").string());
  const StudySpec spec = parse_study(toml, "control.toml");
  ASSERT_EQ(spec.models.size(), 3u);
  EXPECT_EQ(spec.models[0].name, "attn-1");
  EXPECT_EQ(spec.models[1].name, "d32-L1-H2");
  EXPECT_EQ(spec.models[2].name, "d32-L2-H2");
  const StudyPlan plan = plan_study(spec);
  int pretrain = 0, evals = 0, snapshot_evals = 0;
  for (const auto& j : plan.jobs) {
    pretrain += j.kind() == "pretrain";
    evals += j.kind() == "eval";
    const auto* e = std::get_if<EvalJobSpec>(&j.spec);
    snapshot_evals += e && e->snapshot > 0;
  }
  EXPECT_EQ(pretrain, 3);
  EXPECT_EQ(evals, 6);  // final weights and the step-4 snapshot of each base
  EXPECT_EQ(snapshot_evals, 3);

  StudyRunOptions o;
  o.db = (dir / "r.db").string();
  const auto summary = run_study(spec, o);
  EXPECT_EQ(summary.failed, 0);
  EXPECT_EQ(summary.ran, 9);
  ResultStore store(o.db);
  const auto jobs = store.all();
  for (const auto& j : jobs)
    if (const PretrainOutcome* out = j.pretrained()) {
      EXPECT_EQ(out->curves.size(), 2u);  // steps 4 and 8
      EXPECT_EQ(out->steps, 8);
    }
  const auto report = build_report(jobs, "control");
  EXPECT_NE(report.markdown.find("## Over training steps"), std::string::npos);
  EXPECT_NE(report.markdown.find("modadd:p=13@train accuracy"), std::string::npos);
  EXPECT_NE(report.markdown.find("| attn-1/task:modadd:p=13/s1 | modadd:p=13 | id | direct | 4 |"), std::string::npos)
      << report.markdown;
  EXPECT_NE(report.html.find("<svg"), std::string::npos);
  // The parameter counts are the shapes' own: the report orders the bases by them.
  const auto rows = eval_rows(jobs);
  for (const auto& r : rows)
    if (r.preset == "d32-L2-H2") EXPECT_EQ(r.parameters, resolve_model(spec.models[2].shape).config.param_count());

  // A pre-training job that fails (a fixed set larger than the task's training pool)
  // blocks its evaluations and the study ends: it does not wait for them.
  std::string failing = toml;
  failing.replace(failing.find("train_examples = 24"), 19, "train_examples = 900");
  failing.replace(failing.find("name = \"control\""), 16, "name = \"failing\"");
  StudyRunOptions f;
  f.db = (dir / "f.db").string();
  const auto failed = run_study(parse_study(failing, "failing.toml"), f);
  EXPECT_EQ(failed.failed, 3);
  EXPECT_EQ(failed.blocked, 6);
  EXPECT_EQ(failed.ran, 0);

  // A [[sweep]] of a factor that is not one: the error names it and lists the factors.
  std::string bad = toml;
  bad.replace(bad.find("\"layers\""), 8, "\"depth\"");
  const std::string msg = error_of([&] { parse_study(bad, "c.toml"); });
  EXPECT_NE(msg.find("'depth'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("d_model"), std::string::npos) << msg;
}

// A grid over training settings (a reproduction's robustness grid, grokking's weight decay
// 1 against 0): a [[model]] with its own training keys and a [[sweep]] over one. Each is
// its own pre-training job with those settings in its key, named after the value; keys
// the file does not give stay [pretrain]'s; bad values are refused where they are given.
TEST(ExperimentControl, ModelsAndSweepsTakeTheirOwnTrainingSettings) {
  const std::string toml = R"(
[study]
name = "grid"

[pretrain]
recipes = ["task:modadd:p=13,symbols=1"]
batch = "all"
train_examples = 24
epochs = 8
weight_decay = 1.0
lr = 0.003

[[model]]
name = "stable"
d_model = 32
layers = 1
heads = 2
weight_decay = 0.0
output = "stablemax"
lr = 0.01
save_at = [4]

[[sweep]]
d_model = 32
layers = 1
heads = 2
vary = "weight_decay"
values = [1.0, 0.0]

[[evaluate]]
tasks = ["modadd:p=13,symbols=1"]
splits = ["ood"]
methods = ["direct"]
n = 4
snapshots = true
)";
  const StudySpec spec = parse_study(toml, "grid.toml");
  ASSERT_EQ(spec.models.size(), 3u);
  EXPECT_EQ(spec.models[1].name, "d32-L1-H2:weight_decay=1");
  EXPECT_EQ(spec.models[2].name, "d32-L1-H2:weight_decay=0");
  std::map<std::string, PretrainJobSpec> pre;
  int snapshot_evals = 0;
  for (const auto& j : plan_study(spec).jobs) {
    if (const auto* p = std::get_if<PretrainJobSpec>(&j.spec)) pre[p->preset] = *p;
    if (const auto* e = std::get_if<EvalJobSpec>(&j.spec)) snapshot_evals += e->snapshot == 4;
  }
  // Its own save_at: only that base keeps (and has evaluated) a snapshot.
  EXPECT_EQ(snapshot_steps(spec, "stable"), (std::vector<int64_t>{4}));
  EXPECT_TRUE(snapshot_steps(spec, "d32-L1-H2:weight_decay=0").empty());
  EXPECT_EQ(snapshot_evals, 1);
  ASSERT_EQ(pre.size(), 3u);
  EXPECT_EQ(pre["stable"].settings["weight_decay"], 0.0);
  EXPECT_EQ(pre["stable"].settings["output"], "stablemax");
  EXPECT_EQ(pre["stable"].lr, 0.01);
  EXPECT_EQ(pre["stable"].settings["epochs"], 8);  // [pretrain]'s, not overridden
  EXPECT_EQ(pre["d32-L1-H2:weight_decay=1"].settings["weight_decay"], 1.0);
  EXPECT_EQ(pre["d32-L1-H2:weight_decay=0"].settings["weight_decay"], 0.0);
  EXPECT_FALSE(pre["d32-L1-H2:weight_decay=0"].settings.contains("output"));
  EXPECT_EQ(pre["d32-L1-H2:weight_decay=0"].lr, 0.003);
  // The settings reach the job that trains: its TrainJob has them.
  TrainJob job;
  apply_pretrain_settings(job, pre["stable"].settings);
  EXPECT_EQ(job.output, "stablemax");
  EXPECT_EQ(job.weight_decay, 0.0);

  auto refused = [&](const std::string& from, const std::string& to, const std::string& expected) {
    std::string bad = toml;
    bad.replace(bad.find(from), from.size(), to);
    const std::string msg = error_of([&] { parse_study(bad, "grid.toml"); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  };
  refused("output = \"stablemax\"", "output = \"sparsemax\"", "'sparsemax'");
  refused("output = \"stablemax\"", "output = \"sparsemax\"", "stablemax");  // the valid ones listed
  refused("name = \"stable\"", "name = \"d32-L1-H2:weight_decay=1\"", "a second base named 'd32-L1-H2:weight_decay=1'");
  refused("values = [1.0, 0.0]", "values = [1.0, \"none\"]", "values (weight_decay): must be a number");
  refused("vary = \"weight_decay\"", "vary = \"weight_decay\"\nweight_decay = 2.0", "'weight_decay' is varied");
  refused("lr = 0.01", "lr = -1", "lr: must be a positive number");
}

TEST(Curves, TransitionStepWidthAndPlateauOfASigmoid) {
  Curve c{"acc"};
  for (int s = 0; s <= 2000; s += 20) {
    c.steps.push_back(s);
    c.values.push_back(0.1 + 0.8 / (1 + std::exp(-(s - 1200) / 50.0)));
  }
  const Transition t = find_transition(c, 0.1);
  ASSERT_TRUE(t.found);
  EXPECT_NEAR(t.step, 1200, 5);
  EXPECT_NEAR(t.width, 2 * 50 * std::log(4.0), 10);     // 20% to 80% of a logistic
  EXPECT_NEAR(t.plateau_step, 1200 + 50 * std::log(19.0), 10);
  Curve flat{"flat", {0, 10, 20, 30, 40, 50}, {0.5, 0.52, 0.49, 0.5, 0.51, 0.5}};
  EXPECT_FALSE(find_transition(flat, 0.1).found);
  Curve falling{"loss", {1, 2, 3, 4, 5, 6, 7, 8}, {3, 3, 3, 3, 1, 1, 1, 1}};
  const Transition f = find_transition(falling, 0.05);
  ASSERT_TRUE(f.found);
  EXPECT_NEAR(f.step, 4.5, 1e-9);
}

}  // namespace
}  // namespace elab
