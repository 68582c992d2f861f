// The results layer: importers (lm-evaluation-harness old and current forms, CSV through a
// mapping), their refusals of malformed input, the results database's all-or-nothing
// imports, the analyses over rows on constructed ladders with a known threshold and gain,
// and the real published files (skipped only where ../shared/data/results is absent).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fs.h"
#include "report/scale_rows.h"
#include "results/db.h"
#include "results/importers.h"
#include "study/spec.h"
#include "tasks/file_task.h"
#include "../tasks/data_util.h"
#include "test_util.h"

using namespace elab;

namespace {

void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

const ResultRow* find(const std::vector<ResultRow>& rows, const std::string& task, const std::string& metric,
                      const std::string& format = "") {
  for (const auto& r : rows)
    if (r.task == task && r.metric.name == metric && r.method.format == format) return &r;
  return nullptr;
}

const char* kOldForm = R"({
  "results": {"arc_easy": {"acc": 0.40, "acc_stderr": 0.01, "acc_norm": 0.38, "acc_norm_stderr": 0.01},
              "lambada_openai": {"ppl": 20.5, "ppl_stderr": 0.7, "acc": 0.3, "acc_stderr": 0.006}},
  "versions": {"arc_easy": 0, "lambada_openai": 0},
  "config": {"model": "hf-causal", "model_args": "pretrained=EleutherAI/pythia-1.4b-deduped,revision=step3000",
             "num_fewshot": 5}
})";

}  // namespace

TEST(LmEvalImport, OldFormGivesRowsWithShotsStepSizeFamilyAndStandardErrors) {
  const elab::testing::TempDir d;
  put(d / "run.json", kOldForm);
  put(d / "meta.toml", "[model]\ntokens_per_step = 2097152\n");
  const auto rows = import_results("lm-eval", {{(d / "run.json").string()}, "", (d / "meta.toml").string()});
  ASSERT_EQ(rows.size(), 4u);
  const ResultRow* acc = find(rows, "arc_easy", "acc");
  ASSERT_NE(acc, nullptr);
  EXPECT_DOUBLE_EQ(acc->value, 0.40);
  EXPECT_DOUBLE_EQ(acc->stderr_, 0.01);
  EXPECT_EQ(acc->method.shots, 5);
  EXPECT_EQ(acc->model.step, 3000);
  EXPECT_DOUBLE_EQ(acc->model.parameters, 1.4e9);
  EXPECT_DOUBLE_EQ(acc->model.tokens, 3000.0 * 2097152);
  EXPECT_EQ(acc->model.family, "pythia-deduped");
  EXPECT_DOUBLE_EQ(acc->metric.chance, 0.25);
  EXPECT_EQ(find(rows, "lambada_openai", "ppl")->metric.direction, -1);
  EXPECT_EQ(acc->source.rfind("lm-eval@1:", 0), 0u) << acc->source;
}

TEST(LmEvalImport, CurrentFormReadsPerItemOutcomesFromItsSampleFiles) {
  const elab::testing::TempDir d;
  put(d / "results_2024-01-01T00-00-00.json", R"({
    "results": {"boolq": {"alias": "boolq", "acc,none": 0.75, "acc_stderr,none": 0.25}},
    "n-shot": {"boolq": 0}, "n-samples": {"boolq": {"original": 4, "effective": 4}},
    "config": {"model_args": {"pretrained": "org/tiny-160m-instruct"}}})");
  put(d / "samples_boolq_2024-01-01T00-00-00.jsonl",
      "{\"doc_id\": 2, \"filter\": \"none\", \"acc\": 1.0}\n{\"doc_id\": 0, \"filter\": \"none\", \"acc\": 1.0}\n"
      "{\"doc_id\": 1, \"filter\": \"none\", \"acc\": 0.0}\n{\"doc_id\": 3, \"filter\": \"none\", \"acc\": 1.0}\n");
  const auto rows = import_results("lm-eval", {{d.path.string()}, "", ""});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].items, (std::vector<double>{1, 0, 1, 1}));  // in doc_id order
  EXPECT_EQ(rows[0].n, 4);
  EXPECT_EQ(rows[0].method.shots, 0);
  EXPECT_EQ(rows[0].model.variant, "instruct");
  EXPECT_DOUBLE_EQ(rows[0].model.parameters, 160e6);

  // Paired over the same items: the interval of a difference uses the per-item pairs.
  ResultRow other = rows[0];
  other.items = {0, 0, 1, 1};
  other.value = 0.5;
  const RowDifference diff = difference(rows[0], other);
  EXPECT_TRUE(diff.paired);
  EXPECT_DOUBLE_EQ(diff.diff, 0.25);

  // A sample file that disagrees with its results file is refused.
  put(d / "samples_boolq_2024-01-01T00-00-00.jsonl", "{\"doc_id\": 0, \"filter\": \"none\", \"acc\": 1.0}\n");
  EXPECT_NE(elab::testing::error_of([&] { import_results("lm-eval", {{d.path.string()}, "", ""}); }).find("disagree"), std::string::npos);
}

TEST(LmEvalImport, MalformedFilesAndMetricsWithoutDirectionAreRefusedWithWhere) {
  const elab::testing::TempDir d;
  put(d / "broken.json", "{\n  \"results\": {\n    \"arc_easy\": {\"acc\": 0.4,,}\n}\n");
  const std::string e1 = elab::testing::error_of([&] { import_results("lm-eval", {{(d / "broken.json").string()}, "", ""}); });
  EXPECT_NE(e1.find("broken.json:3"), std::string::npos) << e1;
  put(d / "odd.json", R"({"results": {"t": {"mystery": 1.0}}, "config": {"model_args": "pretrained=m-1b"}})");
  const std::string e2 = elab::testing::error_of([&] { import_results("lm-eval", {{(d / "odd.json").string()}, "", ""}); });
  EXPECT_NE(e2.find("mystery"), std::string::npos) << e2;
  EXPECT_NE(e2.find("direction"), std::string::npos) << e2;
  put(d / "meta.toml", "[metrics]\nmystery = \"lower\"\n");
  const auto rows = import_results("lm-eval", {{(d / "odd.json").string()}, "", (d / "meta.toml").string()});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].metric.direction, -1);
  put(d / "nomodel.json", R"({"results": {"arc_easy": {"acc": 0.4}}})");
  EXPECT_NE(elab::testing::error_of([&] { import_results("lm-eval", {{(d / "nomodel.json").string()}, "", ""}); }).find("model_args"),
            std::string::npos);
  EXPECT_NE(elab::testing::error_of([&] { import_results("nope", {{"x"}, "", ""}); }).find("lm-eval"), std::string::npos);
}

TEST(CsvImport, WideTableWithJoinPatternGroupsAndModelFacts) {
  const elab::testing::TempDir d;
  put(d / "scores.csv", "Model,gsm8k_cot,\"gsm8k_direct\",note\norg/a-7b,0.30,0.10,\"x, y\"\norg/b-70b,0.60,0.20,\n");
  put(d / "meta.csv", "Model,Family,Size (B)\norg/a-7b,A,7\norg/b-70b,A,70\n");
  put(d / "map.toml", R"(
[join]
file = "meta.csv"
key = "Model"
[model]
name = "{Model}"
family = "{Family}"
parameters = "{Size (B)}"
parameters_scale = 1e9
[models."org/b-70b"]
variant = "instruct"
[[values]]
pattern = '^gsm8k_(cot|direct)$'
task = "gsm8k"
style = "{1}"
shots = 8
metric = "exact_match"
direction = "higher"
chance = 0
n = 1000
)");
  const auto rows = import_results("csv", {{(d / "scores.csv").string()}, (d / "map.toml").string(), ""});
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].model.family, "A");
  EXPECT_DOUBLE_EQ(rows[0].model.parameters, 7e9);
  EXPECT_EQ(rows[0].method.style, "cot");
  EXPECT_EQ(rows[1].method.style, "direct");
  EXPECT_EQ(rows[3].model.variant, "instruct");
  const double p = (0.3 * 1000 + 2) / 1004;  // Agresti-Coull
  EXPECT_NEAR(rows[0].standard_error(), std::sqrt(p * (1 - p) / 1004), 1e-12);
}

TEST(CsvImport, BadMappingsAndTablesNameTheFileAndPlace) {
  const elab::testing::TempDir d;
  put(d / "t.csv", "model,acc\nm-1b,0.5\n");
  auto run = [&](const std::string& map) {
    put(d / "m.toml", map);
    return elab::testing::error_of([&] { import_results("csv", {{(d / "t.csv").string()}, (d / "m.toml").string(), ""}); });
  };
  const std::string missing_col = run("[model]\nname = \"{modle}\"\n[[values]]\ncolumn = \"acc\"\ntask = \"t\"\nmetric = \"acc\"\ndirection = \"higher\"\n");
  EXPECT_NE(missing_col.find("'modle'"), std::string::npos) << missing_col;
  const std::string no_dir = run("[model]\nname = \"{model}\"\n[[values]]\ncolumn = \"acc\"\ntask = \"t\"\nmetric = \"acc\"\n");
  EXPECT_NE(no_dir.find("no direction"), std::string::npos) << no_dir;
  const std::string no_col = run("[model]\nname = \"{model}\"\n[[values]]\ncolumn = \"accuracy\"\ntask = \"t\"\nmetric = \"acc\"\ndirection = \"higher\"\n");
  EXPECT_NE(no_col.find("matches no column"), std::string::npos) << no_col;
  put(d / "t.csv", "model,acc\nm-1b,0.5,9\n");
  const std::string ragged = run("[model]\nname = \"{model}\"\n[[values]]\ncolumn = \"acc\"\ntask = \"t\"\nmetric = \"acc\"\ndirection = \"higher\"\n");
  EXPECT_NE(ragged.find("t.csv:2"), std::string::npos) << ragged;
  put(d / "t.csv", "model,acc\nm-1b,lots\n");
  const std::string nan = run("[model]\nname = \"{model}\"\n[[values]]\ncolumn = \"acc\"\ntask = \"t\"\nmetric = \"acc\"\ndirection = \"higher\"\n");
  EXPECT_NE(nan.find("t.csv:2"), std::string::npos) << nan;
}

TEST(ResultsDb, AnImportIsAllOrNothingReplacesItsFileAndAConflictNamesBothSources) {
  const elab::testing::TempDir d;
  ResultRow a;
  a.source = "csv@1:first.csv:2";
  a.model.name = "m";
  a.task = "t";
  a.metric.name = "acc";
  a.value = 0.5;
  ResultRow b = a;
  b.source = "csv@1:first.csv:3";
  b.task = "u";
  const std::string db = (d / "r.db").string();
  EXPECT_EQ(add_result_rows(db, {a, b}, "import 1").added, 2);
  // The same file again (a changed mapping, a corrected value): its rows are replaced.
  ResultRow corrected = a;
  corrected.value = 0.6;
  EXPECT_EQ(add_result_rows(db, {corrected}, "import 2").added, 1);
  ASSERT_EQ(read_result_rows(db).size(), 1u);
  EXPECT_DOUBLE_EQ(read_result_rows(db)[0].value, 0.6);
  // Another file that agrees adds nothing; one that disagrees is refused whole.
  ResultRow same = corrected;
  same.source = "lm-eval@1:other.json";
  EXPECT_EQ(add_result_rows(db, {same}, "import 3").unchanged, 1);
  ResultRow c = b;
  c.source = "csv@1:second.csv:8";
  ResultRow clash = corrected;
  clash.value = 0.7;
  clash.source = "csv@1:second.csv:9";
  const std::string e = elab::testing::error_of([&] { add_result_rows(db, {c, clash}, "import 4"); });
  EXPECT_NE(e.find("first.csv:2"), std::string::npos) << e;
  EXPECT_NE(e.find("import 4"), std::string::npos) << e;
  const auto back = read_result_rows(db);
  ASSERT_EQ(back.size(), 1u);  // c was not written either
  EXPECT_EQ(back[0].key(), a.key());
  EXPECT_DOUBLE_EQ(back[0].value, 0.6);
}

// A constructed family: CoT equals direct below 10B and beats it by 0.3 from 10B on; the
// in-context gain is 0.2 at every size. The analyses must find exactly that.
TEST(RowAnalyses, FindAKnownChainOfThoughtThresholdAndAKnownInContextGain) {
  std::vector<ResultRow> rows;
  for (double p : {1e8, 1e9, 1e10, 1e11}) {
    auto row = [&](const std::string& style, int64_t shots, double v) {
      ResultRow r;
      r.source = "test";
      r.model.name = fmt::format("fam-{}", p);
      r.model.family = "fam";
      r.model.parameters = p;
      r.task = "arith";
      r.method.style = style;
      r.method.shots = shots;
      r.metric.name = "exact_match";
      r.metric.chance = 0.0;
      r.value = v;
      r.n = 2000;
      rows.push_back(r);
    };
    row("direct", 8, 0.4);
    row("direct", 0, 0.2);
    row("chain", 8, p >= 1e10 ? 0.7 : 0.4);
  }
  std::vector<Finding> findings;
  std::vector<ScaleMark> marks;
  Doc doc;
  RowAnalysisContext ctx{rows, doc, findings, marks};
  cot_analysis().run(ctx);
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].family, "fam");
  EXPECT_DOUBLE_EQ(marks[0].parameters, 1e10);
  EXPECT_NE(doc.md.find("between 1B and 10B"), std::string::npos) << doc.md;
  ASSERT_FALSE(findings.empty());
  EXPECT_NEAR(findings.back().effect, 0.3, 1e-9);
  EXPECT_GT(findings.back().lo, 0);

  findings.clear();
  marks.clear();
  icl_gain_analysis().run(ctx);
  ASSERT_FALSE(findings.empty());
  EXPECT_NEAR(findings.front().effect, 0.2, 1e-9);  // 8-shot - 0-shot at the largest size
  EXPECT_GT(findings.front().lo, 0);
  EXPECT_DOUBLE_EQ(marks.at(0).parameters, 1e8);  // the gain is there from the smallest size
}

// A ladder that rises above chance between 1B and 10B, and a checkpoint series of its largest
// model that jumps between steps 4000 and 5000: both intervals, and the transition step.
TEST(RowAnalyses, FindWhereALadderAndATrainingRunRiseAboveChance) {
  std::vector<ResultRow> rows;
  auto row = [&](double p, int64_t step, double v) {
    ResultRow r;
    r.source = "test";
    r.model.name = fmt::format("fam-{}", p);
    r.model.family = "fam";
    r.model.parameters = p;
    r.model.step = step;
    r.task = "mc";
    r.method.shots = 0;
    r.metric.name = "acc";
    r.metric.chance = 0.25;
    r.value = v;
    r.n = 4000;
    rows.push_back(r);
  };
  for (double p : {1e8, 1e9, 1e10, 1e11}) row(p, 10000, p >= 1e10 ? 0.6 : 0.25);
  for (int64_t step = 1000; step < 10000; step += 1000) row(1e11, step, step >= 5000 ? 0.6 : 0.25);
  std::vector<Finding> findings;
  std::vector<ScaleMark> marks;
  Doc doc;
  RowAnalysisContext ctx{rows, doc, findings, marks};
  threshold_analysis().run(ctx);
  EXPECT_NE(doc.md.find("| (1B, 10B] |"), std::string::npos) << doc.md;
  EXPECT_NE(doc.md.find("| (step 4000, step 5000] | 0.250 -> 0.600 | 4500 |"), std::string::npos) << doc.md;
}

TEST(StudyResults, AStudyOfImportedResultsAloneParsesAndUnknownImportersAreNamed) {
  const elab::testing::TempDir d;
  put(d / "x.csv", "model,acc\nm,0.5\n");
  const auto spec = parse_study(
      "[study]\nname = \"s\"\n[[results]]\nimporter = \"csv\"\npaths = [\"x.csv\"]\nmapping = \"m.toml\"\n",
      (d / "s.toml").string());
  EXPECT_TRUE(spec.results_only());
  ASSERT_EQ(spec.results.size(), 1u);
  EXPECT_EQ(spec.results[0].paths[0], (d / "x.csv").lexically_normal().string());
  const std::string e = elab::testing::error_of([&] {
    parse_study("[study]\nname = \"s\"\n[[results]]\nimporter = \"csvv\"\npaths = [\"x.csv\"]\n", (d / "s.toml").string());
  });
  EXPECT_NE(e.find("csv"), std::string::npos) << e;
}

// The published files themselves, through the mappings the real-scale study uses.
TEST(RealResults, PublishedLaddersImportThroughTheStudysMappings) {
  SKIP_WITHOUT_DATA("results");
  const std::string root = data_root();
  const fs::path studies = fs::path(ELAB_REPO_DIR) / "studies" / "mappings";
  const auto pythia = import_results("lm-eval", {{(fs::path(root) / "results/pythia/v1/pythia-70m-deduped/five-shot/70m-deduped-5shot_step143000.json").string()},
                                                 "", (studies / "pythia-meta.toml").string()});
  const ResultRow* arc = find(pythia, "arc_easy", "acc");
  ASSERT_NE(arc, nullptr);
  EXPECT_NEAR(arc->value, 0.38341750841750843, 1e-15);
  EXPECT_EQ(arc->method.shots, 5);
  EXPECT_EQ(arc->model.step, 143000);
  EXPECT_DOUBLE_EQ(arc->model.parameters, 70e6);

  const auto obs = import_results("csv", {{(fs::path(root) / "results/obsscaling/base_llm_post_training_eval.csv").string()},
                                          (studies / "obsscaling.toml").string(), ""});
  std::set<std::string> models;
  for (const auto& r : obs) models.insert(r.model.name);
  // 96 models; falcon-180B and bloom (176B) have none of the mapped GSM8K/BBH columns filled.
  EXPECT_EQ(models.size(), 94u);
  EXPECT_FALSE(models.count("bigscience/bloom"));
  const ResultRow* llama = nullptr;
  for (const auto& r : obs)
    if (r.model.name == "meta-llama/Llama-2-70b-hf" && r.task == "gsm8k" && r.method.style == "chain" && r.method.shots == 8 &&
        r.method.format == "strict-match")
      llama = &r;
  ASSERT_NE(llama, nullptr);
  EXPECT_DOUBLE_EQ(llama->model.parameters, 70e9);
  EXPECT_GT(llama->value, 0.4);
}

// Adding an importer and an analysis is one function each plus one registration: a dummy
// importer's rows reach the database and a dummy analysis's finding reaches the report.
TEST(Registries, ADummyImporterAndAnalysisAreUsedOnceRegistered) {
  register_importer({"dummy", "7", "one row per path", [](const ImportRequest& req) {
                       std::vector<ResultRow> rows;
                       for (const auto& p : req.paths) {
                         ResultRow r;
                         r.source = p;
                         r.model.name = "dummy-1b";
                         r.model.family = "dummy";
                         r.model.parameters = 1e9;
                         r.task = p;
                         r.metric.name = "acc";
                         r.value = 0.5;
                         r.n = 100;
                         rows.push_back(r);
                       }
                       return rows;
                     }});
  const auto rows = import_results("dummy", {{"a", "b"}, "", ""});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].source, "dummy@7:a");
  EXPECT_NE(elab::testing::error_of([] { register_importer({"dummy", "8", "", nullptr}); }).find("already"), std::string::npos);

  register_row_analysis({"dummy-analysis", "Q4", "a test's", [](RowAnalysisContext& c) {
                           c.findings.push_back(make_finding("Q4", "dummy claim", fmt::format("{} rows", c.rows.size()),
                                                             {0.1, 0.05, 0.15}, "none", std::nullopt));
                           return std::string("dummy ran");
                         }});
  Doc doc;
  std::vector<Finding> findings;
  std::vector<ScaleMark> marks;
  const std::string summary = row_report_sections(rows, doc, findings, marks);
  EXPECT_NE(summary.find("dummy ran"), std::string::npos) << summary;
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings.back().comparison, "2 rows");
}
