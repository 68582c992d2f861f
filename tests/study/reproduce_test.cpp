// Reproductions (study/reproduce.h, report/reproduction.h): the [reproduce] table is read
// with every text required, a criterion that no longer matches its study's settings is
// refused before planning, and the criterion is judged on the study's cells.
#include <gtest/gtest.h>

#include "report/reproduction.h"
#include "study/spec.h"
#include "test_util.h"

namespace elab {
namespace {

std::string study(int seeds, const std::string& criterion) {
  std::string list;
  for (int s = 1; s <= seeds; ++s) list += (s > 1 ? ", " : "") + std::to_string(s);
  return fmt::format(R"(
[study]
name = "repro"
seeds = [{}]

[reproduce]
paper = "Someone et al. 2023"
published = "their setting, 0.9 against 0.2"
setting = "ours, smaller"
figure = "their Figure 1"

[reproduce.criterion]
{}

[pretrain]
presets = ["xs"]
recipes = ["base", "cot"]
tokens = 6000

[[evaluate]]
tasks = ["add"]
splits = ["id"]
methods = ["direct", "cot:0"]
n = 8
)", list, criterion);
}

const char* kCriterion = R"(a = "xs/cot add id cot:0"
b = "xs/base add id direct"
min_seeds = 2)";

TEST(Reproduce, TheCriterionIsReadAndRefusedWhenItNoLongerMatchesTheStudy) {
  const StudySpec spec = parse_study(study(2, kCriterion), "r.toml");
  ASSERT_TRUE(spec.reproduce.has_value());
  EXPECT_EQ(spec.reproduce->criterion.a.base, "xs/cot");
  EXPECT_EQ(spec.reproduce->criterion.b->method, "direct");
  EXPECT_EQ(spec.reproduce->criterion.text(),
            "[xs/cot add id cot:0] - [xs/base add id direct] > 0 by its 95% CI, over at least 2 seeds");
  // Edited so that the criterion needs more seeds than the study runs: refused, with why.
  const std::string seeds = testing::error_of([] { parse_study(study(1, kCriterion), "r.toml"); });
  EXPECT_NE(seeds.find("r.toml: [reproduce.criterion] needs at least 2 seeds and the study runs 1"), std::string::npos) << seeds;
  // A cell the study does not make.
  const std::string cell =
      testing::error_of([] { parse_study(study(2, "a = \"xs/cot add ood-length cot:0\"\nthreshold = 0.5"), "r.toml"); });
  EXPECT_NE(cell.find("no [[evaluate]] block evaluates xs/cot on task add, split ood-length"), std::string::npos) << cell;
  const std::string base = testing::error_of([] { parse_study(study(2, "a = \"m/cot add id cot:0\""), "r.toml"); });
  EXPECT_NE(base.find("the study has no base 'm/cot'"), std::string::npos) << base;
  EXPECT_NE(testing::error_of([] { parse_study(study(2, "a = \"xs/cot add\""), "r.toml"); }).find("a cell is 'BASE TASK SPLIT METHOD [step=N] [ft=METHOD:N]"),
            std::string::npos);
  EXPECT_NE(testing::error_of([] { parse_study(study(2, "a = \"xs/cot add id cot:0\"\nthreshold = 2"), "r.toml"); })
                .find("threshold of an accuracy must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(testing::error_of([] { parse_study(study(2, "a = \"xs/cot add id cot:0\"\nwhen = 1"), "r.toml"); })
                .find("unknown key 'when' in [reproduce.criterion]"),
            std::string::npos);
  // A snapshot cell needs a block with snapshots = true and the step in save_at.
  const std::string step = "a = \"xs/cot add id cot:0 step=100\"\nb = \"xs/cot add id cot:0\"";
  const std::string unevaluated = testing::error_of([&] { parse_study(study(2, step), "r.toml"); });
  EXPECT_NE(unevaluated.find("method cot:0 with snapshots = true"), std::string::npos) << unevaluated;
  std::string snapshots = study(2, step);
  snapshots.replace(snapshots.find("n = 8"), 5, "n = 8\nsnapshots = true");
  const std::string unkept = testing::error_of([&] { parse_study(snapshots, "r.toml"); });
  EXPECT_NE(unkept.find("step=100 names a snapshot the study does not keep"), std::string::npos) << unkept;
  snapshots.replace(snapshots.find("tokens = 6000"), 13, "tokens = 6000\nsave_at = [100]");
  EXPECT_EQ(parse_study(snapshots, "r.toml").reproduce->criterion.a.step, 100);
  std::string no_paper = study(2, kCriterion);
  no_paper.replace(no_paper.find("paper = "), std::string("paper = \"Someone et al. 2023\"").size(), "");
  EXPECT_NE(testing::error_of([&] { parse_study(no_paper, "r.toml"); }).find("[reproduce] needs 'paper'"), std::string::npos);
}

EvalRow row(const std::string& recipe, uint64_t seed, const std::string& method, int right, int n = 40) {
  EvalRow r;
  r.preset = "xs", r.recipe = recipe, r.train_seed = seed, r.parameters = 20000, r.adaptation = "prompt";
  r.task = "add", r.split = "id", r.method = method, r.n = n;
  for (int i = 0; i < n; ++i) r.item_correct.push_back(i < right ? 1 : 0);
  r.accuracy = double(right) / n;
  r.lo = r.hi = r.accuracy;
  return r;
}

TEST(Reproduce, TheCriterionIsJudgedOnTheStudysCells) {
  const ReproduceCriterion k = parse_study(study(2, kCriterion), "r.toml").reproduce->criterion;
  // Chains 0.9 against direct 0.2 over two seeds: a - b = +0.7, its CI above 0.
  const std::vector<EvalRow> rows = {row("cot", 1, "cot:0", 36), row("cot", 2, "cot:0", 36), row("base", 1, "direct", 8),
                                     row("base", 2, "direct", 8)};
  const auto pass = judge_reproduction(k, rows, 1);
  EXPECT_TRUE(pass.passed) << pass.reason;
  ASSERT_TRUE(pass.difference.has_value());
  EXPECT_NEAR(pass.difference->diff, 0.7, 1e-9);
  EXPECT_NE(pass.reason.find("a - b = +0.700"), std::string::npos) << pass.reason;
  // The other direction fails, with the numbers.
  ReproduceCriterion less = k;
  less.direction = "less";
  EXPECT_FALSE(judge_reproduction(less, rows, 1).passed);
  EXPECT_NE(judge_reproduction(less, rows, 1).reason.find("does not lie below 0"), std::string::npos);
  // One seed where the criterion needs two: fails, whatever the effect.
  const auto few = judge_reproduction(k, {rows[0], rows[2]}, 1);
  EXPECT_FALSE(few.passed);
  EXPECT_NE(few.reason.find("fewer seeds than the 2 the criterion needs"), std::string::npos) << few.reason;
  // Chains at their constant-answer baseline do not count, whatever the difference: the
  // better side must work (the direct side may fail; that is the published result).
  std::vector<EvalRow> at_baseline = rows;
  for (auto& r : at_baseline) r.baselines = TrivialBaselines{"0", 0.95, 0};
  const auto invalid = judge_reproduction(k, at_baseline, 1);
  EXPECT_FALSE(invalid.passed);
  EXPECT_NE(invalid.reason.find("does not count: cot:0 on add id is not above its best trivial baseline"), std::string::npos)
      << invalid.reason;
  // A missing cell fails and names it; the page states the verdict and the numbers.
  const auto missing = judge_reproduction(k, {rows[0]}, 1);
  EXPECT_FALSE(missing.passed);
  EXPECT_NE(missing.reason.find("no finished cell [xs/base add id direct]"), std::string::npos);
  const auto page = reproduction_page("demo", *parse_study(study(2, kCriterion), "r.toml").reproduce, pass, 12);
  EXPECT_NE(page.markdown.find("# Reproduction demo: PASS"), std::string::npos) << page.markdown;
  EXPECT_NE(page.html.find("<svg"), std::string::npos);
  const auto j = nlohmann::json::parse(page.json);
  EXPECT_TRUE(j["passed"].get<bool>());
  EXPECT_EQ(page.html.find("published (their setting)"), std::string::npos);  // none given
  // The published numbers of the settings a and b stand for, beside ours.
  std::string with_published = study(2, kCriterion);
  with_published.replace(with_published.find("figure = "), 9, "published_a = 0.9\npublished_b = 0.2\nfigure = ");
  const auto beside = reproduction_page("demo", *parse_study(with_published, "r.toml").reproduce, pass, 12);
  EXPECT_NE(beside.markdown.find("| published (their setting) |"), std::string::npos) << beside.markdown;
  EXPECT_NE(beside.markdown.find("| 0.90 |"), std::string::npos) << beside.markdown;
  EXPECT_NE(beside.html.find("published 0.20"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(beside.json)["published_a"].get<double>(), 0.9);
  with_published.replace(with_published.find("published_a = 0.9"), 17, "published_a = 90");
  EXPECT_NE(testing::error_of([&] { parse_study(with_published, "r.toml"); }).find("published_a is a published accuracy"),
            std::string::npos);
  EXPECT_NEAR(j["difference"]["effect"].get<double>(), 0.7, 1e-9);

  // A snapshot cell (in-context learning that fades: a snapshot against the end). The
  // snapshot's rows alone make cell a, the final rows cell b, paired item for item.
  ReproduceCriterion fades = k;
  fades.a = parse_cell_ref("xs/base add id direct step=100", "test");
  EXPECT_EQ(fades.a.step, 100);
  EXPECT_EQ(fades.a.text(), "xs/base add id direct step=100");
  std::vector<EvalRow> course = {row("base", 1, "direct", 30), row("base", 2, "direct", 31), row("base", 1, "direct", 10),
                                 row("base", 2, "direct", 12)};
  course[0].snapshot = course[1].snapshot = 100;
  const auto faded = judge_reproduction(fades, course, 1);
  EXPECT_TRUE(faded.passed) << faded.reason;
  ASSERT_TRUE(faded.a && faded.b);
  EXPECT_NEAR(faded.a->accuracy, 61.0 / 80, 1e-9);
  EXPECT_NEAR(faded.b->accuracy, 22.0 / 80, 1e-9);
  // Without the snapshot rows the cell is missing, not the final one in its place.
  EXPECT_FALSE(judge_reproduction(fades, {course[2], course[3]}, 1).passed);
  EXPECT_THROW(parse_cell_ref("xs/base add id direct step=0", "test"), Error);
  EXPECT_THROW(parse_cell_ref("xs/base add id direct at=100", "test"), Error);
}

// Prompting against fine-tuning on the same examples (Lampinen et al. 2025): a cell names
// the base fine-tuned by a method on N examples, the study must make it, and the criterion
// pairs it with the prompted cell on the same items.
TEST(Reproduce, AFineTunedCellIsNamedCheckedAndJudgedBesideAPromptedOne) {
  const std::string finetune = R"(
[[finetune]]
tasks = ["add"]
methods = ["full"]
n_train = [4]
folds = 1
steps = 10
evaluate = { splits = ["id"], methods = ["direct"], n = 8 }
)";
  const std::string criterion = "a = \"xs/base add id direct\"\nb = \"xs/base add id direct ft=full:4\"\nmin_seeds = 2";
  const StudySpec spec = parse_study(study(2, criterion) + finetune, "r.toml");
  const ReproduceCriterion& k = spec.reproduce->criterion;
  ASSERT_TRUE(k.b.has_value());
  EXPECT_EQ(k.b->ft_method, "full");
  EXPECT_EQ(k.b->ft_n, 4);
  EXPECT_EQ(k.b->adaptation(), "ft:full:4");
  EXPECT_EQ(k.b->text(), "xs/base add id direct ft=full:4");
  EXPECT_EQ(parse_cell_ref(k.b->text() + " ft_task=add:digits=2", "t").text(), "xs/base add id direct ft=full:4 ft_task=add:digits=2");
  // Fine-tuned cells the study does not make are refused at planning, with what is missing.
  const std::string lora = testing::error_of([&] {
    parse_study(study(2, "a = \"xs/base add id direct ft=lora:4\"\nthreshold = 0.5") + finetune, "r.toml");
  });
  EXPECT_NE(lora.find("no [[finetune]] block fine-tunes xs/base by lora on 4 examples of add"), std::string::npos) << lora;
  const std::string n16 = testing::error_of([&] {
    parse_study(study(2, "a = \"xs/base add id cot:0 ft=full:4\"\nthreshold = 0.5") + finetune, "r.toml");
  });
  EXPECT_NE(n16.find("evaluates task add, split id, method cot:0"), std::string::npos) << n16;
  EXPECT_THROW(parse_cell_ref("xs/base add id direct ft=full", "t"), Error);
  EXPECT_THROW(parse_cell_ref("xs/base add id direct ft=full:0", "t"), Error);
  EXPECT_THROW(parse_cell_ref("xs/base add id direct ft_task=add", "t"), Error);
  EXPECT_THROW(parse_cell_ref("xs/base add id direct ft=full:4 ft=lora:4", "t"), Error);
  EXPECT_THROW(parse_cell_ref("xs/base add id direct step=10 ft=full:4", "t"), Error);

  // In context 0.9, fine-tuned 0.5 on the same items over two seeds: a - b = +0.4.
  std::vector<EvalRow> rows = {row("base", 1, "direct", 36), row("base", 2, "direct", 36), row("base", 1, "direct", 20),
                               row("base", 2, "direct", 20)};
  for (size_t i = 2; i < 4; ++i)
    rows[i].adaptation = "ft:full:4", rows[i].ft_method = "full", rows[i].ft_task = "add", rows[i].n_train = 4;
  const auto verdict = judge_reproduction(k, rows, 1);
  EXPECT_TRUE(verdict.passed) << verdict.reason;
  ASSERT_TRUE(verdict.b.has_value());
  EXPECT_NEAR(verdict.b->accuracy, 0.5, 1e-9);
  EXPECT_NEAR(verdict.difference->diff, 0.4, 1e-9);
  // Without the fine-tuned rows, cell b is missing: the prompted rows never stand in for it.
  const auto missing = judge_reproduction(k, {rows[0], rows[1]}, 1);
  EXPECT_FALSE(missing.passed);
  EXPECT_NE(missing.reason.find("no finished cell [xs/base add id direct ft=full:4]"), std::string::npos) << missing.reason;
  const auto page = reproduction_page("demo", *spec.reproduce, verdict, 12);
  EXPECT_NE(page.html.find("ft:full:4 direct"), std::string::npos);
}

// Emergence as a shift over seeds (Zhao et al. 2025): a seed_split criterion reads each
// seed's accuracy at every size of one recipe and passes when some size splits into both
// modes while most of its seeds are still low.
TEST(Reproduce, ASeedSplitCriterionReadsTheDistributionOverSeedsAtEverySize) {
  const auto split_study = [](const std::string& criterion) {
    std::string s = study(4, criterion);
    const std::string one = "presets = [\"xs\"]";
    s.replace(s.find(one), one.size(), "presets = [\"xs\", \"s\", \"m\"]");
    return s;
  };
  const std::string kSplit = "kind = \"seed_split\"\na = \"*/cot add id cot:0\"\nmin_seeds = 4\nmin_share = 0.25";
  const ReproduceCriterion k = parse_study(split_study(kSplit), "r.toml").reproduce->criterion;
  EXPECT_TRUE(k.seed_split());
  EXPECT_EQ(k.recipe_of_sizes(), "cot");
  EXPECT_NE(k.text().find("at least 25% of the seeds score <= 0.2"), std::string::npos) << k.text();
  // Refused where it cannot be judged: a b, one base in place of every size, a recipe the
  // study lacks, bands out of order, a share above one half, its keys on the other kind.
  const auto error = [&](const std::string& criterion) {
    return testing::error_of([&] { parse_study(split_study(criterion), "r.toml"); });
  };
  EXPECT_NE(error(kSplit + "\nb = \"xs/cot add id cot:0\"").find("has no b"), std::string::npos);
  EXPECT_NE(error("kind = \"seed_split\"\na = \"xs/cot add id cot:0\"").find("'*/RECIPE'"), std::string::npos);
  EXPECT_NE(error("kind = \"seed_split\"\na = \"*/chat add id cot:0\"").find("'*/RECIPE' with one of the study's recipes"),
            std::string::npos);
  EXPECT_NE(error(kSplit + "\nlow = 0.9").find("needs 0 <= low < high <= 1"), std::string::npos);
  EXPECT_NE(error("kind = \"seed_split\"\na = \"*/cot add id cot:0\"\nmin_share = 0.7").find("min_share is a share"),
            std::string::npos);
  EXPECT_NE(error("a = \"xs/cot add id cot:0\"\nlow = 0.1").find("low belongs to kind = \"seed_split\""), std::string::npos);
  EXPECT_NE(error("kind = \"bimodal\"\na = \"*/cot add id cot:0\"").find("kind must be difference or seed_split"),
            std::string::npos);

  const auto outcomes = [](const std::string& preset, int64_t parameters, std::vector<int> right) {
    std::vector<EvalRow> rows;
    for (size_t i = 0; i < right.size(); ++i) {
      EvalRow r = row("cot", i + 1, "cot:0", right[i], 20);
      r.preset = preset, r.parameters = parameters;
      rows.push_back(r);
    }
    return rows;
  };
  const auto join = [](std::vector<std::vector<EvalRow>> parts) {
    std::vector<EvalRow> all;
    for (auto& p : parts) all.insert(all.end(), p.begin(), p.end());
    return all;
  };
  // xs: every seed low; s: one seed of four high, three low (split, most still low);
  // m: every seed high. Given largest first: the sizes come back smallest first.
  const auto rows = join({outcomes("m", 260000, {20, 20, 19, 18}), outcomes("xs", 20000, {0, 0, 1, 2}),
                          outcomes("s", 70000, {0, 2, 18, 1})});
  const auto pass = judge_reproduction(k, rows, 1);
  EXPECT_TRUE(pass.passed) << pass.reason;
  ASSERT_EQ(pass.sizes.size(), 3u);
  EXPECT_EQ(pass.sizes[0].base, "xs/cot");
  EXPECT_FALSE(pass.sizes[0].split);
  EXPECT_TRUE(pass.sizes[1].split);
  EXPECT_NEAR(pass.sizes[1].share_low, 0.75, 1e-12);
  EXPECT_NEAR(pass.sizes[1].share_high, 0.25, 1e-12);
  EXPECT_NEAR(pass.sizes[1].mean, (0 + 0.1 + 0.9 + 0.05) / 4, 1e-12);
  EXPECT_LE(pass.sizes[1].lo, pass.sizes[1].mean);
  EXPECT_GE(pass.sizes[1].hi, pass.sizes[1].mean);
  EXPECT_NE(pass.reason.find("at s the seeds split (75% low, 25% high)"), std::string::npos) << pass.reason;
  // Split only once most seeds are high: the mean has already jumped.
  const auto late = judge_reproduction(k, join({outcomes("xs", 20000, {0, 0, 1, 2}), outcomes("s", 70000, {0, 18, 19, 20})}), 1);
  EXPECT_FALSE(late.passed);
  EXPECT_NE(late.reason.find("75% of the seeds are already high"), std::string::npos) << late.reason;
  // No size in both modes: a smooth rise (every seed in the middle) is not a split.
  const auto smooth = judge_reproduction(k, join({outcomes("xs", 20000, {0, 1, 0, 1}), outcomes("s", 70000, {10, 11, 9, 10})}), 1);
  EXPECT_FALSE(smooth.passed);
  EXPECT_NE(smooth.reason.find("no size is split into both modes"), std::string::npos) << smooth.reason;
  // Too few seeds at a size.
  const auto few = judge_reproduction(k, join({outcomes("xs", 20000, {0, 0, 1}), outcomes("s", 70000, {0, 2, 18, 1})}), 1);
  EXPECT_FALSE(few.passed);
  EXPECT_NE(few.reason.find("a size has 3 seeds, fewer than the 4"), std::string::npos) << few.reason;
  // The page shows every seed at every size.
  const auto page = reproduction_page("seeds", *parse_study(split_study(kSplit), "r.toml").reproduce, pass, 12);
  EXPECT_NE(page.markdown.find("| each seed, sorted |"), std::string::npos) << page.markdown;
  EXPECT_NE(page.markdown.find("| 0.00 0.05 0.10 0.90 |"), std::string::npos) << page.markdown;
  EXPECT_NE(page.html.find("seed 3: 0.900"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(page.json)["sizes"].size(), 3u);
}

}  // namespace
}  // namespace elab
