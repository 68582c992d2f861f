// Studies: the spec parser's errors, the planner's keys, the results store (atomic
// records, schema checks, merge), and the report's numbers and thresholds on a
// constructed database.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <latch>
#include <set>

#include "core/fs.h"
#include "core/threads.h"
#include "model/model_cache.h"
#include "report/report.h"
#include "study/plan.h"
#include "study/run.h"
#include "study/spec.h"
#include "study/stages.h"
#include "study/store.h"
#include "test_util.h"
#include "eval/eval_settings.h"
#include "study/pretrain_settings.h"
#include "train/finetune_settings.h"

namespace elab {
namespace {

using testing::error_of;
using testing::TempDir;

const char* kStudy = R"(
[study]
name = "t"
seed = 1
seeds = [1, 2]

[pretrain]
presets = ["xs", "s"]
recipes = ["base"]
tokens = 1000

[[evaluate]]
tasks = ["add"]
splits = ["id", "ood-length"]
methods = ["direct", "icl:2"]
n = 10

[[finetune]]
tasks = ["lastletter"]
methods = ["lora"]
n_train = [4]
evaluate = { splits = ["id"], methods = ["direct"], n = 10 }
)";

std::string with(const std::string& from, const std::string& to) {
  std::string s = kStudy;
  auto p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return s.replace(p, from.size(), to);
}

TEST(StudySpec, ParsesAndNamesTheLineOfMistakes) {
  auto s = parse_study(kStudy, "t.toml");
  EXPECT_EQ(s.presets, (std::vector<std::string>{"xs", "s"}));
  EXPECT_EQ(s.seeds, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(s.finetune[0].n_train, (std::vector<int64_t>{4}));
  EXPECT_NE(error_of([] { parse_study(with("tokens = 1000", "tokens = \"many\""), "t.toml"); }).find("t.toml:10: tokens: must be a number"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_study(with("n = 10\n\n", "n = 10\ncolour = 1\n\n"), "t.toml"); }).find("unknown key 'colour'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_study(with("\"xs\", \"s\"", "\"xs\", \"huge\""), "t.toml"); }).find("huge"), std::string::npos);
  EXPECT_NE(error_of([] { parse_study(with("\"icl:2\"", "\"icl:two\""), "t.toml"); }).find("icl:two"), std::string::npos);
  EXPECT_NE(error_of([] { parse_study(with("[\"lora\"]", "[\"ia3\"]"), "t.toml"); }).find("ia3"), std::string::npos);
  EXPECT_NE(error_of([] { parse_study(with("[study]", "[study"), "t.toml"); }).find("t.toml:2:"), std::string::npos);
  EXPECT_NE(error_of([] { parse_study(with("seeds = [1, 2]", "seeds = [1, 1]"), "t.toml"); }).find("repeats a seed (1, 1)"),
            std::string::npos);
}

TEST(StudyPlan, KeysChangeExactlyForTheJobsASeedDetermines) {
  auto a = plan_study(parse_study(kStudy, "t.toml"));
  // 4 bases; each: 2 tasks' evals (add: 2 splits x 2 methods) + lastletter base eval + 1 finetune + its eval.
  EXPECT_EQ(a.jobs.size(), 4u * (1 + 4 + 1 + 1 + 1));
  // What the data cannot support is refused before anything runs, naming the job and why.
  const std::string no_split = error_of([] { plan_study(parse_study(with("\"id\", \"ood-length\"]", "\"id\", \"ood-depth\"]"), "t.toml")); });
  EXPECT_NE(no_split.find("task add ask for split ood-depth, which the task does not have (it has id, ood-length)"),
            std::string::npos) << no_split;
  const std::string too_many = error_of([] {
    plan_study(parse_study(with("n_train = [4]", "n_train = [100000]"), "t.toml"));
  });
  EXPECT_NE(too_many.find("[[finetune]] on lastletter with n_train = 100000: "), std::string::npos) << too_many;
  EXPECT_NE(too_many.find("fewer than 100000 distinct problems"), std::string::npos) << too_many;
  auto b = plan_study(parse_study(with("seeds = [1, 2]", "seeds = [1, 3]"), "t.toml"));
  std::set<std::string> ka, kb;
  for (const auto& j : a.jobs) ka.insert(j.key);
  for (const auto& j : b.jobs) kb.insert(j.key);
  int changed = 0;
  for (const auto& j : b.jobs)
    if (!ka.count(j.key)) {
      ++changed;
      // Only jobs descending from a seed-3 base are new.
      const StudyJob* base = nullptr;
      for (const auto& x : b.jobs)
        if (x.key == j.group) base = &x;
      ASSERT_NE(base, nullptr);
      ASSERT_NE(std::get_if<PretrainJobSpec>(&base->spec), nullptr);
      EXPECT_EQ(std::get<PretrainJobSpec>(base->spec).seed, 3u);
    }
  EXPECT_EQ(changed, 2 * 8);  // two presets x one seed x 8 jobs
  // bf16 changes every job's key (pre-training, fine-tuning and their evaluations);
  // an explicit fp32 is the default and changes none.
  auto bf16 = plan_study(parse_study(with("tokens = 1000", "tokens = 1000\nprecision = \"bf16\""), "t.toml"));
  auto fp32 = plan_study(parse_study(with("tokens = 1000", "tokens = 1000\nprecision = \"fp32\""), "t.toml"));
  for (size_t k = 0; k < a.jobs.size(); ++k) {
    EXPECT_FALSE(ka.count(bf16.jobs[k].key)) << bf16.jobs[k].kind();
    EXPECT_EQ(fp32.jobs[k].key, a.jobs[k].key);
  }
  EXPECT_NE(error_of([] { parse_study(with("tokens = 1000", "tokens = 1000\nprecision = \"fp16\""), "t.toml"); })
                .find("precision must be"),
            std::string::npos);
  // Parents come before children, and sharding deals out whole groups.
  std::set<std::string> seen;
  for (const auto& j : a.jobs) {
    if (!j.parent.empty()) EXPECT_TRUE(seen.count(j.parent)) << j.kind();
    seen.insert(j.key);
  }
  std::vector<std::vector<bool>> masks;
  for (int i = 0; i < 3; ++i) masks.push_back(shard_mask(a, i, 3));
  for (size_t k = 0; k < a.jobs.size(); ++k) EXPECT_EQ(masks[0][k] + masks[1][k] + masks[2][k], 1) << k;
}

// A record as the store would read it back: through the one JSON edge (study/job_spec.h).
JobRecord record(const std::string& key, const std::string& kind, const std::string& group, const std::string& parent,
                 nlohmann::json spec, nlohmann::json result) {
  if (kind == "eval")  // an evaluation's spec names its split and method, as its summary does
    for (const char* k : {"split", "method"})
      if (!spec.contains(k)) spec[k] = result.value(k, std::string("id"));
  return {key, kind, group, parent, job_spec_from_json(kind, spec, key), "done", "", job_result_from_json(kind, result, key), 1.0};
}

// `baseline` >= 0: the summary's best constant answer scores it (else the report draws the
// task's items again to find it, as for records from before summaries kept baselines).
nlohmann::json eval_result(const std::string& split, const std::string& method, const std::vector<int>& items, double lp = -1,
                           double baseline = -1) {
  double acc = 0;
  for (int x : items) acc += x;
  acc /= double(items.size());
  nlohmann::json j = {{"split", split}, {"method", method}, {"n", items.size()}, {"accuracy", acc}, {"ci95", {acc, acc}},
                      {"metrics", {{"gold_logprob", lp}, {"char_accuracy", acc}}}, {"item_correct", items}};
  if (baseline >= 0) j["baselines"] = {{"constant_answer", "a"}, {"constant", baseline}, {"chance", 0.0}};
  return j;
}

TEST(ResultStore, RecordsAtomicallyRefusesForeignFilesAndMerges) {
  TempDir dir;
  const std::string db = (dir / "r.db").string();
  {
    ResultStore s(db);
    s.put(record("k1", "eval", "g", "p", {{"task", "add"}}, {{"accuracy", 0.5}}), {{{"index", 0}}, {{"index", 1}}});
    EXPECT_EQ(s.samples("k1").size(), 2u);
  }
  ResultStore again(db);
  ASSERT_TRUE(again.find("k1").has_value());
  ASSERT_NE(again.find("k1")->summary(), nullptr);
  EXPECT_EQ(again.find("k1")->summary()->accuracy, 0.5);
  EXPECT_EQ(again.find("k1")->eval()->task, "add");

  write_file_atomic(dir / "junk.db", std::string(4096, 'x'));
  EXPECT_NE(error_of([&] { ResultStore s((dir / "junk.db").string()); }).find("junk.db"), std::string::npos);
  EXPECT_EQ(read_file(dir / "junk.db"), std::string(4096, 'x')) << "a foreign file is never overwritten";
  {
    ResultStore newer((dir / "newer.db").string());
  }
  {  // as if a future elab had written it
    sqlite3* db = nullptr;
    sqlite3_open((dir / "newer.db").c_str(), &db);
    sqlite3_exec(db, "UPDATE elab_meta SET value = '99' WHERE name = 'schema_version'", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  EXPECT_NE(error_of([&] { ResultStore s((dir / "newer.db").string()); }).find("schema 99 is newer"), std::string::npos);
  const std::string other = (dir / "other.db").string();
  {
    ResultStore s(other);
    s.put(record("k2", "eval", "g", "p", {{"task", "coin"}}, {{"accuracy", 1.0}}));
  }
  EXPECT_EQ(again.merge_from(other), 1);
  EXPECT_EQ(again.all().size(), 2u);
  EXPECT_EQ(again.merge_from(other), 0) << "merging twice copies nothing";
}

// A constructed study: presets xs < s < m; CoT beats direct first at m (paired, CI above 0).
std::vector<JobRecord> fixture() {
  std::vector<JobRecord> jobs;
  const std::vector<std::pair<std::string, int64_t>> presets = {{"xs", 1000}, {"s", 5000}, {"m", 20000}};
  std::vector<int> zeros(40, 0), half(40, 0), most(40, 1);
  for (int i = 0; i < 20; ++i) half[size_t(i)] = 1;
  for (int i = 0; i < 4; ++i) most[size_t(i)] = 0;
  for (const auto& [preset, params] : presets) {
    const std::string base = "base-" + preset;
    jobs.push_back(record(base, "pretrain", base, "", {{"preset", preset}, {"recipe", "base"}, {"seed", 1}},
                          {{"parameters", params}}));
    const bool big = preset == "m";
    jobs.push_back(record("d-" + preset, "eval", base, base, {{"task", "add"}}, eval_result("id", "direct", preset == "xs" ? zeros : half)));
    jobs.push_back(record("c-" + preset, "eval", base, base, {{"task", "add"}},
                          eval_result("id", "cot:2", big ? most : preset == "xs" ? zeros : half)));
    jobs.push_back(record("i-" + preset, "eval", base, base, {{"task", "add"}}, eval_result("id", "icl:4", half)));
    jobs.push_back(record("f-" + preset, "finetune", base, base, {{"task", "add"}, {"method", "lora"}, {"n_train", 4}}, {}));
    jobs.push_back(record("fe-" + preset, "eval", base, "f-" + preset, {{"task", "add"}}, eval_result("id", "direct", big ? most : half)));
  }
  return jobs;
}

TEST(Report, ThresholdsAndNumbersFromAConstructedDatabase) {
  auto jobs = fixture();
  auto rows = eval_rows(jobs);
  EXPECT_EQ(rows.size(), 12u);
  EXPECT_EQ(cot_threshold(rows, "base", "add", 1), "m");
  auto report = build_report(jobs, "fixture");
  for (const char* section : {"## Q1 Is in-context learning", "## Q2 Prompting or fine-tuning", "## Q3 How big must a model be",
                              "## Q4 Does the data"})
    EXPECT_NE(report.markdown.find(section), std::string::npos) << section;
  EXPECT_NE(report.summary.find("CoT first beats direct answers at preset m"), std::string::npos) << report.summary;
  EXPECT_NE(report.summary.find("fine-tuning beats icl:K in 1 of 3 comparisons"), std::string::npos) << report.summary;
  // N = K = 4: ft:lora:4 vs icl:4 at m: 0.9 vs 0.5, resolved.
  EXPECT_NE(report.markdown.find("m base on add: with the same 4 examples, ft:lora:4 beats icl:4 by +0.400"), std::string::npos)
      << report.markdown;
  // The smallest preset whose CoT beats the best fine-tuned xs (0.5): m (0.9).
  EXPECT_NE(report.markdown.find("CoT prompting at m is the smallest to beat the best fine-tuned xs"), std::string::npos)
      << report.markdown;
  EXPECT_NE(report.markdown.find("| cot:2 | m | 20000 | 0.900 ["), std::string::npos);
  EXPECT_NE(report.csv.find("m,20000,base,1,ft:lora:4,add,id,direct,40,0.900000"), std::string::npos) << report.csv;
  EXPECT_NE(report.csv.find(",-1.000000,0.900000,,add,0.000000,"), std::string::npos) << "ft_task, then the baselines" << report.csv;
  EXPECT_NE(report.html.find("<svg"), std::string::npos);
  EXPECT_EQ(report.html.find("http"), report.html.find("http://www.w3.org/2000/svg")) << "no network references";
  // Exact match jumps 0 -> 0.5 from xs to s while per-character accuracy follows it: no note.
  // Only one recipe: section 4 says so.
  EXPECT_NE(report.summary.find("only one recipe"), std::string::npos) << report.summary;
  EXPECT_NE(error_of([] { build_report({}, "empty"); }).find("no finished evaluations"), std::string::npos);

  // The answers open the report (Markdown and HTML alike), and verdicts.json holds the same answers.
  EXPECT_LT(report.markdown.find("## Answers"), report.markdown.find("## Q1 Is in-context learning"));
  EXPECT_NE(report.markdown.find("**Q3 How big must a model be before chain-of-thought beats direct answers?** Resolved."),
            std::string::npos) << report.markdown.substr(0, 2000);
  const size_t first_section = report.html.find("<h2>");
  for (const char* q : {"Q1", "Q2", "Q3", "Q4"})
    EXPECT_LT(report.html.find(fmt::format("<div class=\"answer\" id=\"answer-{}\">", q)), first_section) << q;
  // One forest plot per question with comparisons, and one faceted figure per section
  // with charts (Q1 and Q2: accuracy over examples; Q3: over parameters; Q4 has one
  // recipe, nothing to draw), not a chart per cell.
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = report.html.find(what); at != std::string::npos; at = report.html.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("class=\"forest\""), 3u) << "Q1, Q2 and Q3 compare; Q4 has one recipe";
  EXPECT_EQ(count("class=\"facets\""), 3u);
  EXPECT_EQ(count("<svg"), 1u + 3u + 3u) << "the scale axis, the forest plots, the faceted figures";
  // Every table is on demand.
  EXPECT_EQ(count("<table>"), count("<details><summary>Table: "));
  EXPECT_GT(count("<table>"), 3u);
  // The forest plot draws resolved comparisons filled and the others hollow.
  const std::string q3_forest = report.html.substr(report.html.find("Q3: every comparison"));
  EXPECT_NE(q3_forest.find("r=\"4\" fill=\"#"), std::string::npos);
  const auto v = nlohmann::json::parse(report.verdicts);
  ASSERT_EQ(v["questions"].size(), 4u);
  const auto& q3 = v["questions"][2];
  EXPECT_EQ(q3["question"], "Q3");
  EXPECT_TRUE(q3["resolved"].get<bool>());
  // The headline: at m, cot:2 - direct is 0.9 - 0.5, and the gain over s's (0.5 - 0.5) is
  // the emergence threshold (xs: 0 - 0); both +0.4.
  EXPECT_NEAR(q3["headline"]["effect"].get<double>(), 0.4, 1e-9);
  EXPECT_EQ(q3["comparisons"], 5);  // three presets, two steps between them
  bool threshold = false;
  for (const auto& f : q3["findings"])
    if (f["comparison"].get<std::string>() == "base / add id: (cot:2 - direct) at m minus at s") {
      threshold = true;
      EXPECT_NEAR(f["effect"].get<double>(), 0.4, 1e-9);
      EXPECT_EQ(f["agreement"], "as published");
    } else if (f["comparison"].get<std::string>().find("m (20.0K) / base / add id: cot:2 - direct") != std::string::npos) {
      EXPECT_EQ(f["agreement"], "no published direction") << "one preset's sign depends on its scale";
    }
  EXPECT_TRUE(threshold) << q3;
  const auto& q1 = v["questions"][0];  // ft:lora:4 - icl:4 at m: +0.4, where Mosbach et al. find no difference
  EXPECT_NEAR(q1["headline"]["effect"].get<double>(), 0.4, 1e-9);
  // A claim of no difference, judged against its margin: +0.4 lies beyond ±0.05.
  EXPECT_EQ(q1["headline"]["agreement"], "contrary to the published result (which finds no difference; the CI lies beyond ±0.05)");
  EXPECT_EQ(q1["headline"]["equivalence_margin"], 0.05);
  // At xs both methods answer nothing right: below the constant answer, the comparison does not count.
  bool xs_seen = false;
  for (const auto& f : q3["findings"])
    if (f["comparison"].get<std::string>().rfind("xs ", 0) == 0) {
      xs_seen = true;
      EXPECT_FALSE(f["counts"].get<bool>()) << f;
      EXPECT_FALSE(f["resolved"].get<bool>()) << f;
      EXPECT_NE(f["why_not_counted"].get<std::string>().find("is not above its best trivial baseline"), std::string::npos) << f;
    }
  EXPECT_TRUE(xs_seen) << q3;
  const auto& q4 = v["questions"][3];
  EXPECT_FALSE(q4["resolved"].get<bool>());
  EXPECT_NE(q4["answer"].get<std::string>().find("not resolved at this budget"), std::string::npos);
}

// Two recipes and a probe split: section 4 compares the recipes cell by cell against the
// i.i.d. control, and section 1 reads X-random-labels as the label probe of split X.
TEST(Report, RecipesCellByCellAndProbeSplits) {
  std::vector<JobRecord> jobs;
  std::vector<int> high(60, 1), low(60, 0), half(60, 0);
  for (int i = 0; i < 10; ++i) high[size_t(i)] = 0, low[size_t(i)] = 1;  // 50/60 and 10/60
  for (int i = 0; i < 30; ++i) half[size_t(i)] = 1;
  for (const std::string recipe : {"ladder-bursty", "ladder-iid"}) {
    const std::string base = "base-" + recipe;
    const bool bursty = recipe == "ladder-bursty";
    jobs.push_back(record(base, "pretrain", base, "", {{"preset", "s"}, {"recipe", recipe}, {"seed", 1}}, {{"parameters", 5000}}));
    jobs.push_back(record("n-" + recipe, "eval", base, base, {{"task", "iclass"}},
                          eval_result("ood-novel", "direct", bursty ? high : low, -1, 0.02)));
    jobs.push_back(record("i-" + recipe, "eval", base, base, {{"task", "iclass"}}, eval_result("id", "direct", high, -1, 0.02)));
    jobs.push_back(record("r-" + recipe, "eval", base, base, {{"task", "iclass"}},
                          eval_result("id-random-labels", "direct", bursty ? low : half, -1, 0.02)));
  }
  auto report = build_report(jobs, "recipes");
  const auto v = nlohmann::json::parse(report.verdicts);
  const auto& q1 = v["questions"][0];
  ASSERT_EQ(q1["comparisons"], 2) << q1;  // one probe per recipe
  EXPECT_NEAR(q1["headline"]["effect"].get<double>(), -40.0 / 60, 1e-9);
  EXPECT_NE(q1["headline"]["comparison"].get<std::string>().find("s / ladder-bursty / iclass: id-random-labels - id direct"),
            std::string::npos) << q1["headline"];
  EXPECT_EQ(q1["headline"]["agreement"], "as published");
  const auto& q4 = v["questions"][3];
  ASSERT_EQ(q4["comparisons"], 3) << q4;  // three cells, bursty against the iid control; one preset: no scale rows
  EXPECT_NEAR(q4["headline"]["effect"].get<double>(), 40.0 / 60, 1e-9);
  EXPECT_NE(q4["headline"]["comparison"].get<std::string>().find("ladder-bursty - ladder-iid"), std::string::npos);
  EXPECT_NE(report.markdown.find("| ladder-bursty - ladder-iid |"), std::string::npos) << report.markdown;
  // Q4's figure: the recipes side by side against parameters, one panel (direct on iclass, id).
  const size_t q4_figure = report.html.find("Accuracy against parameters, each pre-training recipe");
  ASSERT_NE(q4_figure, std::string::npos);
  EXPECT_GT(q4_figure, report.html.find("<h2>Q4 "));
  EXPECT_NE(report.html.find(">ladder-iid</text>", q4_figure), std::string::npos) << "each recipe is a series of the panel";
}

// Two models fine-tuned with the same method and N on different tasks are different
// cells: evaluated on the same task, one is a retention cell and one its own task's.
TEST(Report, FineTunedModelsOnDifferentTasksAreDifferentCells) {
  std::vector<JobRecord> jobs;
  std::vector<int> base_items(40, 1), after_add(40, 0), after_own(40, 1);
  jobs.push_back(record("b", "pretrain", "b", "", {{"preset", "s"}, {"recipe", "base"}, {"seed", 1}}, {{"parameters", 5000}}));
  jobs.push_back(record("e", "eval", "b", "b", {{"task", "iclass"}}, eval_result("ood-novel", "direct", base_items)));
  for (const std::string task : {"add", "iclass"}) {
    jobs.push_back(record("f-" + task, "finetune", "b", "b", {{"task", task}, {"method", "lora"}, {"n_train", 4}}, {}));
    jobs.push_back(record("fe-" + task, "eval", "b", "f-" + task, {{"task", "iclass"}},
                          eval_result("ood-novel", "direct", task == "add" ? after_add : after_own)));
  }
  auto report = build_report(jobs, "two");
  const auto v = nlohmann::json::parse(report.verdicts);
  const auto& q2 = v["questions"][1];
  bool retention = false;
  for (const auto& f : q2["findings"])
    if (f["claim"].get<std::string>().find("changes in-context learning on another") != std::string::npos) {
      retention = true;
      EXPECT_NEAR(f["effect"].get<double>(), -1.0, 1e-9) << "the add-tuned model's items alone, not pooled with the other";
    }
  EXPECT_TRUE(retention) << q2;
  EXPECT_NE(report.csv.find(",add,0.000000,"), std::string::npos) << report.csv;  // ft_task, then unanswered
  EXPECT_NE(report.csv.find(",iclass,0.000000,"), std::string::npos) << report.csv;
}

// Fictional facts (Lampinen et al. 2025): the facts in context (mc:12) against a model
// fine-tuned on the same 12 (answering with mc:0), on reversed questions; the augmented
// fine-tuning against the plain one, and against in-context as an equivalence. A model
// that has not learned its training format is not compared.
TEST(Report, FictionalFactsInContextAgainstFineTunedAndAugmented) {
  std::vector<JobRecord> jobs;
  auto items = [](int right) {
    std::vector<int> v(60, 0);
    for (int i = 0; i < right; ++i) v[size_t(i * 60 / right)] = 1;
    return v;
  };
  jobs.push_back(record("b", "source", "b", "", {{"model", "m.gguf"}, {"name", "lm"}}, {{"parameters", 135000000}}));
  jobs.push_back(record("icl", "eval", "b", "b", {{"task", "facts"}}, eval_result("ood-reversed", "mc:12", items(45), -1, 0.5)));
  jobs.push_back(record("f", "finetune", "b", "b", {{"task", "facts"}, {"method", "lora"}, {"n_train", 12}},
                        {{"n_train", 12}, {"train_answered", 1.0}}));
  jobs.push_back(record("fe", "eval", "b", "f", {{"task", "facts"}}, eval_result("ood-reversed", "mc:0", items(24), -1, 0.5)));
  jobs.push_back(record("a", "finetune", "b", "b", {{"task", "facts:augmented=1"}, {"method", "lora"}, {"n_train", 30}},
                        {{"n_train", 30}, {"train_answered", 1.0}}));
  jobs.push_back(record("ae", "eval", "b", "a", {{"task", "facts:augmented=1"}},
                        eval_result("ood-reversed", "mc:0", items(44), -1, 0.5)));
  auto facts_findings = [](const std::string& verdicts) {
    std::map<std::string, nlohmann::json> out;
    const auto parsed = nlohmann::json::parse(verdicts);
    for (const auto& f : parsed["questions"][1]["findings"])
      if (f["comparison"].get<std::string>().find("facts ood-reversed") != std::string::npos)
        out[f["claim"].get<std::string>()] = f;
    return out;
  };
  const auto first = build_report(jobs, "facts");
  auto found = facts_findings(first.verdicts);
  ASSERT_FALSE(found.empty()) << first.verdicts << first.csv;
  const auto& icl_vs_ft = found["in-context learning generalises better than fine-tuning from the same facts"];
  ASSERT_FALSE(icl_vs_ft.is_null()) << nlohmann::json(found).dump(1);
  EXPECT_NEAR(icl_vs_ft["effect"].get<double>(), 0.75 - 0.40, 1e-9);
  EXPECT_TRUE(icl_vs_ft["counts"].get<bool>());
  EXPECT_EQ(icl_vs_ft["agreement"], "as published");
  const auto& augmented = found["fine-tuning on the facts and their inferences generalises better than on the facts alone"];
  EXPECT_NEAR(augmented["effect"].get<double>(), 44.0 / 60 - 0.40, 1e-9);
  const auto& as_icl = found["fine-tuning on the facts and their inferences generalises as well as in-context learning"];
  EXPECT_NEAR(as_icl["effect"].get<double>(), 0.75 - 44.0 / 60, 1e-9);
  EXPECT_EQ(as_icl["equivalence_margin"].get<double>(), kMosbachMargin);
  // Lampinen et al.'s own form (augmented=self) and Bornschein et al.'s k-shot fine-tuning
  // (train_shots, prompted with the facts afterwards): each a model of its own.
  jobs.push_back(record("s", "finetune", "b", "b", {{"task", "facts:augmented=self"}, {"method", "lora"}, {"n_train", 30}},
                        {{"n_train", 30}, {"train_answered", 1.0}}));
  jobs.push_back(record("se", "eval", "b", "s", {{"task", "facts:augmented=self"}},
                        eval_result("ood-reversed", "mc:0", items(30), -1, 0.5)));
  jobs.push_back(record("k", "finetune", "b", "b",
                        {{"task", "facts"}, {"method", "lora"}, {"n_train", 12}, {"settings", {{"train_shots", "11"}}}},
                        {{"n_train", 12}, {"train_answered", 1.0}}));
  jobs.push_back(record("ke0", "eval", "b", "k", {{"task", "facts"}}, eval_result("ood-reversed", "mc:0", items(20), -1, 0.5)));
  jobs.push_back(record("ke", "eval", "b", "k", {{"task", "facts"}}, eval_result("ood-reversed", "mc:12", items(54), -1, 0.5)));
  found = facts_findings(build_report(jobs, "facts").verdicts);
  EXPECT_NEAR(found["in-context learning generalises better than fine-tuning from the same facts"]["effect"].get<double>(),
              0.75 - 0.40, 1e-9) << "the k-shot model's mc:0 cell is not the plain fine-tuning's";
  int own = 0;
  const auto parsed = nlohmann::json::parse(build_report(jobs, "facts").verdicts);
  for (const auto& f : parsed["questions"][1]["findings"])
    if (f["comparison"].get<std::string>().find("(augmented, own inferences)") != std::string::npos) {
      ++own;
      if (f["claim"].get<std::string>().find("better than on the facts alone") != std::string::npos)
        EXPECT_NEAR(f["effect"].get<double>(), 0.5 - 0.4, 1e-9);
    }
  EXPECT_EQ(own, 2) << "own inferences against in-context learning and against plain fine-tuning, each naming its arm";
  const auto& over_icl = found["fine-tuning on k-shot prompts, then prompting, generalises better than prompting alone"];
  ASSERT_FALSE(over_icl.is_null()) << nlohmann::json(found).dump(1);
  EXPECT_NEAR(over_icl["effect"].get<double>(), 0.9 - 0.75, 1e-9);
  EXPECT_NE(over_icl["comparison"].get<std::string>().find("ft:lora:12+11shot mc:12 - mc:12"), std::string::npos) << over_icl;
  const auto& over_ft = found["fine-tuning on k-shot prompts, then prompting, generalises better than plain fine-tuning"];
  ASSERT_FALSE(over_ft.is_null());
  EXPECT_NEAR(over_ft["effect"].get<double>(), 0.9 - 0.40, 1e-9);
  EXPECT_EQ(over_ft["agreement"], "as published");
  // The plain fine-tuning has not learned its training format: its comparisons do not count.
  jobs[2] = record("f", "finetune", "b", "b", {{"task", "facts"}, {"method", "lora"}, {"n_train", 12}},
                   {{"n_train", 12}, {"train_answered", 0.5}});
  found = facts_findings(build_report(jobs, "facts").verdicts);
  const auto& unlearned = found["in-context learning generalises better than fine-tuning from the same facts"];
  EXPECT_FALSE(unlearned["counts"].get<bool>());
  EXPECT_NE(unlearned["why_not_counted"].get<std::string>().find("has not learned its training format"), std::string::npos)
      << unlearned;
}

}  // namespace
}  // namespace elab

namespace elab {
namespace {

// Two runners of one study at once (two `elab study run`, here two threads with their own
// database connections) split its jobs through claims in the database: every job runs
// once in all, and each runner accounts for every job (run by it, or by the other). A
// dead runner's claim (its heartbeat long past) is taken over.
TEST(StudyRun, TwoRunnersOfOneStudyRunEachJobOnce) {
  TempDir dir;
  const std::string toml = fmt::format(R"(
[study]
name = "two-runners"
dir = "{}"
seeds = [1, 2, 3, 4]

[pretrain]
presets = ["xs"]
recipes = ["base"]
tokens = 6000

[[evaluate]]
tasks = ["add"]
splits = ["id"]
methods = ["direct"]
n = 8
)", (dir / "study").string());
  const StudySpec spec = parse_study(toml, "two-runners.toml");
  const StudyPlan plan = plan_study(spec);
  ASSERT_EQ(plan.jobs.size(), 8u);
  {
    ResultStore store(default_db_path(spec, 0, 1));
    ASSERT_TRUE(store.claim(plan.jobs[0].key, "dead-runner", 1000.0, 60));
  }
  StudyRunSummary a, b;
  std::latch start(2);
  run_parts(2, [&](size_t i) {
    start.arrive_and_wait();
    (i == 0 ? a : b) = run_study(spec, StudyRunOptions{});
  });
  EXPECT_EQ(a.failed + b.failed, 0);
  EXPECT_EQ(a.ran + b.ran, 8) << "a job ran twice, or not at all";
  EXPECT_EQ(a.ran + a.elsewhere, 8);
  EXPECT_EQ(b.ran + b.elsewhere, 8);
  ResultStore store(a.db);
  EXPECT_EQ(plan_records(plan, store).size(), 8u);
  // Claims end with their runs; a later runner finds everything done.
  EXPECT_FALSE(store.claim(plan.jobs[0].key, "later", 2e9, 60));
  const auto again = run_study(spec, StudyRunOptions{});
  EXPECT_EQ(again.already_done, 8);
  EXPECT_EQ(again.ran, 0);
}

}  // namespace
}  // namespace elab

namespace elab {
namespace {

// With the model cache on (as a study runs), a fine-tuning job with 4 folds reads its base
// once: the refit and each fold get their own copies, and the base on disk and in the
// cache stays as it was (a later evaluation of the base reads nothing either).
TEST(ModelCache, AFineTuningJobWithFoldsReadsItsBaseOnce) {
  TempDir dir;
  enable_model_cache(int64_t(1) << 30);
  const auto before = model_cache_stats();
  FinetuneJob job;
  job.base = std::string(ELAB_REPO_DIR) + "/models/ladder/xs-ladder-iid-s1";
  job.task = "add:digits=2";
  job.n_train = 8;
  job.out = (dir / "ft").string();
  job.config.method = "lora";
  job.config.folds = 4;
  job.config.lr_search = 1;  // one rate: a fold-run per fold (with 3 rates, 12 hits)
  job.config.steps = 20;
  const auto r = run_finetune_job(job);
  EXPECT_EQ(r.folds, 4);
  const auto after = model_cache_stats();
  EXPECT_EQ(after.loads - before.loads, 1) << "the base was read more than once";
  EXPECT_EQ(after.hits - before.hits, 4);
  Checkpoint again = load_checkpoint_cached(job.base);
  Checkpoint fresh = load_checkpoint(job.base);
  EXPECT_EQ(model_cache_stats().loads, after.loads);
  auto fresh_weights = named_weights(*fresh.model), cached_weights = named_weights(*again.model);
  ASSERT_EQ(fresh_weights.size(), cached_weights.size());
  for (size_t i = 0; i < fresh_weights.size(); ++i)
    EXPECT_TRUE(torch::equal(fresh_weights[i].second, cached_weights[i].second)) << fresh_weights[i].first;
  // Copies are independent: changing one changes neither the cache nor another copy.
  {
    torch::NoGradGuard no_grad;
    cached_weights[0].second.add_(1.0);
  }
  Checkpoint third = load_checkpoint_cached(job.base);
  EXPECT_TRUE(torch::equal(named_weights(*third.model)[0].second, fresh_weights[0].second));
  enable_model_cache(0);
  EXPECT_EQ(model_cache_stats().bytes, 0);
}

}  // namespace
}  // namespace elab

namespace elab {
namespace {

// A [[finetune]] block takes every setting of the one table elab finetune's flags come
// from: set ones enter the job's spec and key (unset ones leave the key as it was), and
// reach the job's FinetuneConfig; a bad value or an unknown key is refused at parsing,
// naming the file, the block and the valid keys.
TEST(StudySpec, FineTuningSettingsComeFromTheOneTableAndEnterTheJobKey) {
  const std::string plain = kStudy;
  const std::string with_settings = with("n_train = [4]\n", "n_train = [4]\nlr = 0.001\nrank = 4\n");
  const auto finetune_jobs = [](const std::string& toml) {
    std::vector<StudyJob> out;
    for (const auto& j : plan_study(parse_study(toml, "t.toml")).jobs)
      if (j.kind() == "finetune") out.push_back(j);
    return out;
  };
  const auto a = finetune_jobs(plain), b = finetune_jobs(with_settings);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  const auto& spec = std::get<FinetuneJobSpec>(b[0].spec);
  EXPECT_EQ(spec.settings, (std::map<std::string, std::string>{{"lr", "0.001"}, {"rank", "4"}}));
  EXPECT_FALSE(to_json(a[0].spec).contains("settings"));
  EXPECT_NE(a[0].key, b[0].key);
  FinetuneConfig c;
  apply_finetune_settings(c, spec.settings, "test");
  EXPECT_DOUBLE_EQ(c.lr, 0.001);
  EXPECT_EQ(c.lora.rank, 4);
  // The same settings as flags: every key has one, named after it.
  for (const auto& s : finetune_settings()) EXPECT_EQ(s.flag().substr(0, 2), "--") << s.key;
  EXPECT_NE(find_finetune_setting("lora_dropout"), nullptr);
  EXPECT_EQ(find_finetune_setting("lora_dropout")->flag(), "--lora-dropout");

  const std::string zero_rank = error_of([&] { parse_study(with("n_train = [4]\n", "n_train = [4]\nrank = 0\n"), "t.toml"); });
  EXPECT_NE(zero_rank.find("t.toml: [[finetune]] 1: --rank must be positive"), std::string::npos) << zero_rank;
  const std::string unknown = error_of([&] { parse_study(with("n_train = [4]\n", "n_train = [4]\nranks = 4\n"), "t.toml"); });
  EXPECT_NE(unknown.find("ranks"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("lora_dropout"), std::string::npos) << unknown;
  const std::string text = error_of([&] { parse_study(with("n_train = [4]\n", "n_train = [4]\nlr = \"fast\"\n"), "t.toml"); });
  EXPECT_NE(text.find("must be a number"), std::string::npos) << text;
}

// Every [pretrain] setting of a study, and the pre-training job keys they make. The keys
// were recorded before the settings moved into one table (study/pretrain_settings.h): the
// shipped bases (models/ladder) are found by key, so a key must never drift.
TEST(StudySpec, PretrainSettingsComeFromTheOneTableAndKeepTheirJobKeys) {
  const std::string every = with("tokens = 1000\n", R"(tokens = 1000
optimizer = "sgd"
schedule = "linear"
weight_decay = 1
beta1 = 0.8
beta2 = 0.99
momentum = 0.5
grad_clip = 0.5
min_lr_ratio = 0
warmup = 3
train_examples = 16
epochs = 2
eval_every = 5
eval_n = 7
eval_tasks = ["add@id", "add@ood-length@icl:2"]
save_at = [2, 4]
)");
  const auto pretrain_keys = [](const std::string& toml) {
    std::vector<std::string> keys;
    for (const auto& j : plan_study(parse_study(toml, "t.toml")).jobs)
      if (j.kind() == "pretrain") keys.push_back(j.key);
    return keys;
  };
  // Recorded at 0baab9c, when each setting had its own field in a TrainControl struct.
  EXPECT_EQ(pretrain_keys(kStudy),
            (std::vector<std::string>{"5e315ff362fd6301", "37736e593f9befa4", "8ce48d1410613cf7", "11e2018852b38d8e"}));
  EXPECT_EQ(pretrain_keys(every),
            (std::vector<std::string>{"21bec21d88cc51b7", "ab8049e4a4eb324e", "527999005a58fd49", "e152a61c572a3cec"}));

  // Every [pretrain] setting is a flag of `elab train` and lands on the job the same way
  // from the study, from the flag's words and from a stored record (the settings added
  // after the keys above were recorded too).
  std::string all = every;
  all.replace(all.find("save_at = [2, 4]"), 16, "save_at = [2, 4]\noutput = \"stablemax\"");
  const StudySpec spec = parse_study(all, "t.toml");
  ASSERT_EQ(spec.pretrain_settings.size(), pretrain_settings().size());
  TrainJob from_study, from_words;
  apply_pretrain_settings(from_study, spec.pretrain_settings);
  nlohmann::json words_settings = nlohmann::json::object();
  for (const auto& s : pretrain_settings()) {
    const auto& v = spec.pretrain_settings[s.key];
    std::vector<std::string> words;
    if (v.is_array())
      for (const auto& x : v) words.push_back(x.is_string() ? x.get<std::string>() : x.dump());
    else
      words.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    words_settings[s.key] = pretrain_setting_from_words(s, words, s.flag);
  }
  EXPECT_EQ(words_settings, spec.pretrain_settings);
  EXPECT_EQ(checked_pretrain_settings(spec.pretrain_settings, "record"), spec.pretrain_settings);
  apply_pretrain_settings(from_words, words_settings);
  EXPECT_EQ(from_study.optimizer, "sgd");
  EXPECT_DOUBLE_EQ(from_study.weight_decay, 1.0);
  EXPECT_EQ(from_study.warmup_steps, 3);
  EXPECT_EQ(from_study.eval_tasks, (std::vector<std::string>{"add@id", "add@ood-length@icl:2"}));
  EXPECT_EQ(from_study.save_at, (std::vector<int64_t>{2, 4}));
  EXPECT_DOUBLE_EQ(from_words.beta2, 0.99);
  EXPECT_EQ(from_words.save_at, from_study.save_at);
  EXPECT_EQ(find_pretrain_setting("eval_tasks")->flag, "--eval-task");
  EXPECT_EQ(find_pretrain_setting("min_lr_ratio")->flag, "--min-lr-ratio");

  // Mistakes name the key and where it was.
  const std::string text = error_of([&] { parse_study(with("tokens = 1000\n", "tokens = 1000\nwarmup = \"long\"\n"), "t.toml"); });
  EXPECT_NE(text.find("t.toml:11: warmup: must be an integer"), std::string::npos) << text;
  const std::string zero = error_of([&] { parse_study(with("tokens = 1000\n", "tokens = 1000\nsave_at = [0]\n"), "t.toml"); });
  EXPECT_NE(zero.find("save_at: must be a list of positive integers"), std::string::npos) << zero;
  const std::string flag = error_of([&] { pretrain_setting_from_words(*find_pretrain_setting("beta1"), {"high"}, "--beta1"); });
  EXPECT_NE(flag.find("--beta1 must be a number, got 'high'"), std::string::npos) << flag;
  const std::string record = error_of([] { checked_pretrain_settings({{"betas", 0.9}}, "r"); });
  EXPECT_NE(record.find("betas"), std::string::npos) << record;
  EXPECT_NE(record.find("beta1"), std::string::npos) << record;
  // A text setting with closed values is refused where it is given, listing them.
  const std::string schedule = error_of([&] { parse_study(with("tokens = 1000\n", "tokens = 1000\nschedule = \"cosin\"\n"), "t.toml"); });
  EXPECT_NE(schedule.find("t.toml:11: schedule"), std::string::npos) << schedule;
  EXPECT_NE(schedule.find("'cosin'"), std::string::npos) << schedule;
  EXPECT_NE(schedule.find("constant"), std::string::npos) << schedule;
  EXPECT_EQ(from_study.output, "stablemax");
}

// The evaluation settings: one table makes `elab eval`'s flags and the keys of [[evaluate]]
// blocks; a block's settings reach its evaluations' keys and their EvalSpec, and blocks
// without them keep their keys.
TEST(StudySpec, EvaluationSettingsComeFromTheOneTableAndEnterTheJobKey) {
  const auto eval_jobs = [](const std::string& toml) {
    std::vector<StudyJob> out;
    for (const auto& j : plan_study(parse_study(toml, "t.toml")).jobs)
      if (j.kind() == "eval") out.push_back(j);
    return out;
  };
  const auto plain = eval_jobs(kStudy);
  const auto set = eval_jobs(with("n = 10\n\n[[finetune]]", "n = 10\nmax_new_tokens = 8\nper_item_exemplars = true\n\n[[finetune]]"));
  ASSERT_EQ(plain.size(), set.size());
  int with_settings = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_FALSE(to_json(plain[i].spec).contains("settings"));
    const auto& e = std::get<EvalJobSpec>(set[i].spec);
    if (e.settings.empty()) {
      EXPECT_EQ(plain[i].key, set[i].key);  // the fine-tuning block's evaluations are not the block's
      continue;
    }
    ++with_settings;
    EXPECT_NE(plain[i].key, set[i].key);
    EvalSpec spec;
    apply_eval_settings(spec, e.settings, "test");
    EXPECT_EQ(spec.max_new_tokens, 8);
    EXPECT_TRUE(spec.per_item_exemplars);
  }
  EXPECT_EQ(with_settings, 2 * 2 * 2 * 2);  // 2 bases x 2 seeds x 2 splits x 2 methods
  for (const auto& s : eval_settings()) EXPECT_EQ(s.flag().substr(0, 2), "--") << s.key;
  EXPECT_EQ(find_eval_setting("max_new_tokens")->flag(), "--max-new-tokens");

  const std::string negative = error_of([&] { parse_study(with("n = 10\n\n[[finetune]]", "n = 10\nmax_new_tokens = -1\n\n[[finetune]]"), "t.toml"); });
  EXPECT_NE(negative.find("max_new_tokens must be between 0"), std::string::npos) << negative;
  const std::string text = error_of([&] { parse_study(with("n = 10\n\n[[finetune]]", "n = 10\nper_item_exemplars = 1\n\n[[finetune]]"), "t.toml"); });
  EXPECT_NE(text.find("per_item_exemplars: must be true or false"), std::string::npos) << text;
}

// Likelihood scoring is refused at planning where it cannot run: a task with open answers,
// a source that cannot be scored (recorded predictions).
TEST(StudyPlan, LikelihoodScoringOnOpenAnswersOrAnUnscoredSourceIsRefusedBeforeRunning) {
  const std::string open = error_of([&] { plan_study(parse_study(with("methods = [\"direct\", \"icl:2\"]", "methods = [\"mc:2\"]"), "t.toml")); });
  EXPECT_NE(open.find("method mc:2 scores the options of a closed answer set, and task add (its answers are open"),
            std::string::npos) << open;
  const std::string replay = error_of([&] {
    plan_study(parse_study(R"(
[study]
name = "r"

[[model]]
name = "recorded"
source = "replay:preds.jsonl"

[[evaluate]]
tasks = ["coin"]
methods = ["mc:2"]
)", "t.toml"));
  });
  EXPECT_NE(replay.find("method mc:2 needs log-likelihoods, and recorded (replay:FILE) cannot give them"), std::string::npos)
      << replay;
  // On a closed answer set and a model that can be scored, it plans.
  EXPECT_NO_THROW(plan_study(parse_study(with("tasks = [\"add\"]\nsplits = [\"id\", \"ood-length\"]\nmethods = [\"direct\", \"icl:2\"]",
                                             "tasks = [\"coin\"]\nsplits = [\"id\"]\nmethods = [\"mc:2\"]"), "t.toml")));
}

}  // namespace
}  // namespace elab
