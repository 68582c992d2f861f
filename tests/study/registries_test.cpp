// Registries that carry behaviour, and versions in job keys: a method registered in this
// one file is planned, run and reported; a task's version bump re-plans exactly the jobs
// that use the task; the worker count is part of every key.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>

#include "backends/registry.h"
#include "eval/evaluate.h"
#include "eval/method.h"
#include "report/report.h"
#include "report/sections.h"
#include "study/plan.h"
#include "study/run.h"
#include "study/spec.h"
#include "study/store.h"
#include "tasks/registry.h"
#include "test_util.h"

namespace elab {
namespace {

using testing::TempDir;

// `add` under another name, with a version the test can bump.
std::atomic<int> g_version{1};
class VersionedAdd : public Task {
 public:
  VersionedAdd() : add_(make_task("add")) {}
  std::string name() const override { return add_->name(); }
  std::string description() const override { return add_->description(); }
  std::string instruction() const override { return add_->instruction(); }
  std::vector<SplitInfo> splits() const override { return add_->splits(); }
  AnswerKind answer_kind() const override { return add_->answer_kind(); }
  Example example(const std::string& split, Pool pool, uint64_t seed, int64_t index) const override {
    return add_->example(split, pool, seed, index);
  }
  int version() const override { return g_version; }

 private:
  std::unique_ptr<Task> add_;
};

void register_test_entries() {
  static bool done = false;
  if (done) return;
  done = true;
  register_task({"versioned", "versioned", "add, with a version the test sets", false,
                 [](const std::string&) -> std::unique_ptr<Task> { return std::make_unique<VersionedAdd>(); }});
  // The dummy method: K direct exemplars, 3 answers sampled at temperature 1, majority vote.
  register_method({"vote3", "vote3:K", "test: K direct exemplars, 3 sampled answers, majority", [](const MethodArgs& a) {
                     a.arity(1, 1);
                     Method m;
                     m.shots = a.count(0, "K", 1);
                     m.samples = 3;
                     m.temperature = 1.0;
                     m.aggregation = Aggregation::majority;
                     return m;
                   }});
  // The dummy report section: the evaluations of vote3 and their mean accuracy.
  register_report_section({"vote3-summary", [](const ReportInputs& in, Doc& doc, std::vector<Finding>&) {
                             double sum = 0;
                             int n = 0;
                             for (const auto& r : in.rows)
                               if (r.method == "vote3:2") sum += r.accuracy, ++n;
                             doc.heading("Majority of three", 2);
                             doc.para(fmt::format("{} evaluations of vote3:2", n));
                             return n ? fmt::format("vote3: {} evaluations, mean accuracy {:.3f}", n, sum / n) : "";
                           }});
}

std::string study_text(const std::string& dir, int workers) {
  return fmt::format(R"(
[study]
name = "registries"
dir = "{}"
workers = {}

[pretrain]
presets = ["xs"]
recipes = ["add"]
tokens = 4000
batch = 8
seq_len = 128

[[evaluate]]
tasks = ["add", "versioned"]
splits = ["id"]
methods = ["direct", "vote3:2"]
n = 8

[[finetune]]
tasks = ["versioned"]
methods = ["lora"]
n_train = [4]
evaluate = {{ splits = ["id"], methods = ["direct"], n = 8 }}
)", dir, workers);
}

std::string describe(const StudyPlan& plan, const StudyJob& j) { return describe_job(plan, j); }

TEST(Versions, ABumpedTaskVersionReplansExactlyTheJobsThatUseIt) {
  register_test_entries();
  g_version = 1;
  const StudySpec spec = parse_study(study_text("/tmp/unused", 2), "r.toml");
  const StudyPlan before = plan_study(spec);
  g_version = 2;
  const StudyPlan after = plan_study(spec);
  g_version = 1;
  ASSERT_EQ(before.jobs.size(), after.jobs.size());
  std::set<std::string> old_keys;
  for (const auto& j : before.jobs) old_keys.insert(j.key);
  std::set<std::string> changed, kept;
  for (const auto& j : after.jobs) (old_keys.count(j.key) ? kept : changed).insert(describe(after, j));
  // Pre-training on `add` and the evaluations on `add` keep their keys ...
  EXPECT_EQ(kept, (std::set<std::string>{"pretrain xs/add/s1", "eval xs/add/s1 add id direct", "eval xs/add/s1 add id vote3:2"}));
  // ... and exactly what reads `versioned` is planned anew: its evaluations, the
  // fine-tuning on it, and the fine-tuned model's evaluations.
  EXPECT_EQ(changed, (std::set<std::string>{"eval xs/add/s1 versioned id direct", "eval xs/add/s1 versioned id vote3:2",
                                            "finetune xs/add/s1 lora versioned N=4",
                                            "eval xs/add/s1+ft:lora:4 versioned id direct"}));
  // The worker count fixes the order of sums: it is part of every key.
  const StudyPlan one_worker = plan_study(parse_study(study_text("/tmp/unused", 1), "r.toml"));
  for (const auto& j : one_worker.jobs) EXPECT_FALSE(old_keys.count(j.key)) << describe(one_worker, j);
}

TEST(Registries, AMethodRegisteredInOneFileIsPlannedRunAndReported) {
  register_test_entries();
  EXPECT_NE(testing::error_of([] { register_method({"vote3", "x", "x", nullptr}); }).find("registered already"),
            std::string::npos);
  TempDir dir;
  const StudySpec spec = parse_study(study_text((dir / "study").string(), 1), "r.toml");
  const StudyPlan plan = plan_study(spec);
  int planned = 0;
  for (const auto& j : plan.jobs)
    if (const auto* e = std::get_if<EvalJobSpec>(&j.spec)) planned += e->method == "vote3:2";
  EXPECT_EQ(planned, 2);  // on add and on versioned

  StudyRunOptions o;
  const auto ran = run_study(spec, o);
  EXPECT_EQ(ran.failed, 0);
  ResultStore store(ran.db);
  const auto records = plan_records(plan, store);
  int run = 0;
  for (const auto& r : records)
    if (const EvalSummary* s = r.summary(); s && s->method == "vote3:2") {
      ++run;
      EXPECT_EQ(s->n, 8);
      EXPECT_EQ(s->item_correct.size(), 8u);
    }
  EXPECT_EQ(run, 2);
  const StudyReport report = build_report(records, "registries");
  // Q1 reads it as in-context learning with K = 2 (its parsed method, not its name).
  EXPECT_NE(report.markdown.find("| prompt vote3:2 | 2 |"), std::string::npos) << report.markdown;
  EXPECT_NE(report.csv.find(",vote3:2,8,"), std::string::npos) << report.csv;
  // The report section registered in this file is written, after the built-in ones.
  EXPECT_NE(report.markdown.find("## Majority of three\n\n2 evaluations of vote3:2"), std::string::npos) << report.markdown;
  EXPECT_EQ(report.markdown.find("## Majority of three"), report.markdown.rfind("\n## ") + 1) << "not the last section";
  EXPECT_NE(report.summary.find("vote3: 2 evaluations, mean accuracy"), std::string::npos) << report.summary;
  EXPECT_EQ(report_sections().back().name, "vote3-summary");
}

}  // namespace
}  // namespace elab

namespace elab {
namespace {

// A study can evaluate a base from outside it: here recorded predictions (replay:), each
// item answered correctly; fine-tuning on such a base is refused with the reason.
TEST(Sources, AStudyEvaluatesAReplayFileAndRefusesToFineTuneAnEndpoint) {
  TempDir dir;
  auto add = make_task("add");
  const auto items = test_items(*add, "id", 6, 1);
  {
    std::ofstream f(dir / "preds.jsonl");
    for (size_t i = 0; i < items.size(); ++i)
      f << nlohmann::json({{"task", "add"}, {"index", i}, {"prediction", " " + items[i].answer + "\n"}}).dump() << "\n";
  }
  const std::string toml = fmt::format(R"(
[study]
name = "sources"
dir = "{}"

[[model]]
name = "recorded"
source = "replay:{}"

[[evaluate]]
tasks = ["add"]
splits = ["id"]
methods = ["direct"]
n = 6
)", (dir / "study").string(), (dir / "preds.jsonl").string());
  const StudySpec spec = parse_study(toml, "sources.toml");
  ASSERT_EQ(spec.sources.size(), 1u);
  const StudyPlan plan = plan_study(spec);
  ASSERT_EQ(plan.jobs.size(), 2u);  // the source, and its evaluation
  EXPECT_EQ(plan.jobs[0].kind(), "source");
  StudyRunOptions o;
  const auto ran = run_study(spec, o);
  EXPECT_EQ(ran.failed, 0);
  ResultStore store(ran.db);
  const auto records = plan_records(plan, store);
  const auto rows = eval_rows(records);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].preset, "recorded");
  EXPECT_DOUBLE_EQ(rows[0].accuracy, 1.0);

  // An endpoint cannot be fine-tuned: the plan is refused, naming the model and the reason.
  const std::string with_finetune = R"(
[study]
name = "endpoint"

[[model]]
name = "api"
source = "openai:http://127.0.0.1:9/v1#m"

[[finetune]]
tasks = ["add"]
methods = ["lora"]
n_train = [4]
evaluate = { splits = ["id"], methods = ["direct"], n = 4 }
)";
  const std::string e = testing::error_of([&] { plan_study(parse_study(with_finetune, "endpoint.toml")); });
  EXPECT_NE(e.find("'api'"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot be fine-tuned (an HTTP endpoint serves predictions"), std::string::npos) << e;
  // A backend option it does not know: the backend and the key are named.
  const std::string bad = testing::error_of([&] {
    make_backend("openai:http://127.0.0.1:9/v1#m", parse_backend_args("concurrency=2,colour=red"));
  });
  EXPECT_NE(bad.find("colour"), std::string::npos) << bad;
  EXPECT_NE(bad.find("openai:URL#MODEL"), std::string::npos) << bad;
}

// A checkpoint directory as a source: one source job per study seed (items, exemplars and
// fine-tuning examples drawn from it), fine-tuned with the block's own settings only where
// `models` names it, and counted for the scale axis; a relative path is the study file's.
TEST(Sources, ACheckpointSourceIsReplicatedPerSeedFineTunedWhereNamedAndCounted) {
  TempDir dir;
  const std::string base = std::string(ELAB_REPO_DIR) + "/models/ladder/xs-ladder-bursty-s1";
  const std::string toml = fmt::format(R"(
[study]
name = "checkpoints"
dir = "{}"
seeds = [1, 2]

[[model]]
name = "xs"
source = "{}"

[[model]]
name = "api"
source = "openai:http://127.0.0.1:9/v1#m"

[[evaluate]]
tasks = ["add:digits=2"]
models = ["xs"]
methods = ["direct"]
n = 4

[[finetune]]
tasks = ["add:digits=2"]
models = ["xs"]
methods = ["lora"]
n_train = [4]
steps = 2
batch = 2
folds = 1
evaluate = {{ splits = ["id"], methods = ["direct"], n = 4 }}
)", (dir / "study").string(), base);
  const StudySpec spec = parse_study(toml, "checkpoints.toml");
  const StudyPlan plan = plan_study(spec);  // the endpoint is left out of the fine-tuning: not refused
  std::map<std::string, std::vector<uint64_t>> source_seeds;
  std::vector<const FinetuneJobSpec*> finetunes;
  for (const auto& j : plan.jobs) {
    if (const auto* src = std::get_if<SourceJobSpec>(&j.spec)) source_seeds[src->name].push_back(src->seed);
    if (const auto* f = std::get_if<FinetuneJobSpec>(&j.spec)) finetunes.push_back(f);
    if (const auto* e = std::get_if<EvalJobSpec>(&j.spec)) {
      const StudyJob* parent = nullptr;
      for (const auto& p : plan.jobs)
        if (p.key == j.group) parent = &p;
      ASSERT_NE(parent, nullptr);
      const auto* src = std::get_if<SourceJobSpec>(&parent->spec);
      ASSERT_NE(src, nullptr);
      EXPECT_EQ(src->name, "xs");  // no block applies to the endpoint
      EXPECT_EQ(e->seed, src->seed);
    }
  }
  EXPECT_EQ(source_seeds["xs"], (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(source_seeds["api"], (std::vector<uint64_t>{1, 2}));
  ASSERT_EQ(finetunes.size(), 2u);
  for (const auto* f : finetunes) EXPECT_EQ(std::tie(f->steps, f->batch, f->folds), std::make_tuple(int64_t(2), int64_t(2), int64_t(1)));
  EXPECT_NE(finetunes[0]->seed, finetunes[1]->seed);

  // Run it without the endpoint (nothing listens there).
  const std::string local = toml.substr(0, toml.find("[[model]]\nname = \"api\"")) + toml.substr(toml.find("[[evaluate]]"));
  const StudySpec run_spec = parse_study(local, "checkpoints.toml");
  StudyRunOptions o;
  const auto ran = run_study(run_spec, o);
  EXPECT_EQ(ran.failed, 0);
  ResultStore store(ran.db);
  const auto rows = eval_rows(plan_records(plan_study(run_spec), store));
  ASSERT_EQ(rows.size(), 4u);  // per seed: the base on add (once: both blocks ask it), the fine-tuned model
  std::set<uint64_t> seeds;
  for (const auto& r : rows) {
    EXPECT_EQ(r.parameters, find_preset("xs").config.param_count()) << r.adaptation;
    seeds.insert(r.train_seed);
  }
  EXPECT_EQ(seeds, (std::set<uint64_t>{1, 2}));

  // A relative source is found beside the study file; a block naming an unknown base is refused.
  const StudySpec relative = parse_study(R"(
[study]
name = "rel"
[[model]]
name = "xs"
source = "xs-ladder-bursty-s1"
[[evaluate]]
tasks = ["add"]
methods = ["direct"]
)", std::string(ELAB_REPO_DIR) + "/models/ladder/rel.toml");
  EXPECT_EQ(relative.sources[0].model, base);
  const std::string e = testing::error_of([&] {
    parse_study(R"(
[study]
name = "rel"
[[model]]
name = "xs"
source = "x"
[[evaluate]]
tasks = ["add"]
models = ["xl"]
methods = ["direct"]
)", "rel.toml");
  });
  EXPECT_NE(e.find("'xl'"), std::string::npos) << e;
  EXPECT_NE(e.find("xs"), std::string::npos) << e;
}

}  // namespace
}  // namespace elab
