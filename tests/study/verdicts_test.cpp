// Verdicts that know their baselines: a comparison counts only when its cells work, and a
// claim of no difference is two one-sided tests against its margin.
#include <gtest/gtest.h>

#include "report/cells.h"
#include "report/findings.h"
#include "test_util.h"

namespace elab {
namespace {

PairedDifference diff(double d, double lo, double hi) {
  PairedDifference p;
  p.diff = d, p.lo = lo, p.hi = hi;
  return p;
}

TEST(Verdicts, AClaimOfNoDifferenceIsSupportedContradictedOrOpenByItsMargin) {
  const auto f = [](double d, double lo, double hi) {
    return make_finding("Q1", "ft beats icl", "x", diff(d, lo, hi), "Mosbach et al. 2023", 0, 0.05);
  };
  // Inside the margin, even with zero outside the CI: supported (a small, real difference is "comparable").
  EXPECT_TRUE(f(0.01, -0.03, 0.04).equivalent());
  EXPECT_TRUE(f(0.02, 0.005, 0.04).resolved());
  EXPECT_EQ(f(0.02, 0.005, 0.04).agreement().rfind("as published (equivalent within ±0.05)", 0), 0u);
  // Wholly beyond it: contradicted.
  EXPECT_TRUE(f(0.2, 0.12, 0.28).resolved());
  EXPECT_EQ(f(0.2, 0.12, 0.28).agreement().rfind("contrary to the published result", 0), 0u);
  EXPECT_TRUE(f(-0.2, -0.3, -0.06).beyond_margin());
  // Across a margin: open, though the difference test alone would call it resolved.
  EXPECT_FALSE(f(0.06, 0.01, 0.11).resolved());
  EXPECT_EQ(f(0.06, 0.01, 0.11).agreement(), "not resolved");
  EXPECT_FALSE(f(0.0, -0.1, 0.1).resolved());

  // The margin is part of the claim: none is an error, and a margin on a directional claim too.
  const std::string none = testing::error_of([] { make_finding("Q1", "c", "x", diff(0, -1, 1), "lit", 0); });
  EXPECT_NE(none.find("needs an equivalence margin"), std::string::npos) << none;
  EXPECT_NE(testing::error_of([] { make_finding("Q1", "c", "x", diff(0, -1, 1), "lit", 1, 0.05); }).find("not a claim of no difference"),
            std::string::npos);
}

Cell cell(const std::string& method, double acc, double lo, double hi, double baseline, double unanswered) {
  Cell c;
  c.adaptation = "prompt", c.method = method, c.task = "coin", c.split = "id";
  c.accuracy = acc, c.lo = lo, c.hi = hi, c.baseline = baseline, c.unanswered = unanswered, c.constant_answer = "yes";
  c.items.assign(10, 1.0);
  return c;
}

TEST(Verdicts, ACellAtItsBaselineOrUnansweredMakesItsComparisonsNotCount) {
  const Cell works = cell("icl:8", 0.9, 0.8, 0.97, 0.55, 0.0);
  const Cell at_baseline = cell("icl:4", 0.6, 0.5, 0.7, 0.55, 0.0);
  const Cell unanswered = cell("direct", 0.95, 0.9, 0.99, 0.55, 0.3);
  const auto d = diff(0.3, 0.2, 0.4);  // resolved by the difference alone
  const Finding ok = cell_finding("Q1", "c", "x", works, works, d, "lit", +1);
  EXPECT_TRUE(ok.counts());
  EXPECT_TRUE(ok.resolved());
  EXPECT_EQ(ok.agreement(), "as published");

  const Finding low = cell_finding("Q1", "c", "x", works, at_baseline, d, "lit", +1);
  EXPECT_FALSE(low.counts());
  EXPECT_FALSE(low.resolved());
  EXPECT_NE(low.invalid.find("icl:4 on coin id is not above its best trivial baseline"), std::string::npos) << low.invalid;
  EXPECT_NE(low.invalid.find("always 'yes'"), std::string::npos) << low.invalid;
  EXPECT_EQ(low.agreement().rfind("does not count: ", 0), 0u);

  const Finding fmt_fail = cell_finding("Q1", "c", "x", unanswered, works, d, "lit", +1);
  EXPECT_NE(fmt_fail.invalid.find("leaves 30% of items unanswered (format failure)"), std::string::npos) << fmt_fail.invalid;

  // A probe may fall to its baseline (that is its effect), but must answer.
  EXPECT_TRUE(cell_finding("Q1", "c", "x", at_baseline, works, d, "lit", -1, MustWork::b_only).counts());
  EXPECT_FALSE(cell_finding("Q1", "c", "x", at_baseline, works, d, "lit", -1, MustWork::a_only).counts());
  EXPECT_FALSE(cell_finding("Q1", "c", "x", unanswered, works, d, "lit", -1, MustWork::b_only).counts());

  // A question whose comparisons all fail says so instead of naming a winner.
  QuestionAnswer q{"Q1", "text", {low, fmt_fail}};
  EXPECT_EQ(q.resolved(), 0);
  EXPECT_EQ(q.answer().rfind("no comparison counts", 0), 0u) << q.answer();
  q.findings.push_back(ok);
  EXPECT_EQ(q.headline()->comparison, ok.comparison);
  EXPECT_NE(q.answer().find("2 of 3 comparisons do not count"), std::string::npos) << q.answer();
}

// A fine-tuned model that answers every item as its base does was not changed by its
// fine-tuning: its comparison with prompting does not count, however equal they look.
TEST(Verdicts, AFineTunedModelThatAnswersAsItsBaseDoesIsNotCompared) {
  Cell base = cell("direct", 0.9, 0.8, 0.97, 0.55, 0.0);
  base.preset = "m", base.recipe = "r";
  base.items = {1, 1, 0, 1, 1, 1, 1, 1, 1, 1};
  Cell tuned = base;
  tuned.adaptation = "ft:full:4", tuned.ft_task = "coin";
  const auto d = diff(0, 0, 0);
  Finding same = cell_finding("Q2", "c", "x", tuned, base, d, "Mosbach", 0, MustWork::both, kMosbachMargin);
  ASSERT_TRUE(same.counts());
  EXPECT_TRUE(same.equivalent());
  // The base prompted the same way, as the report's cells hold it.
  EvalRow row;
  row.preset = "m", row.recipe = "r", row.adaptation = "prompt", row.task = "coin", row.split = "id", row.method = "direct";
  row.item_correct = base.items;
  row.accuracy = 0.9;
  const Cells cells = make_cells({row}, 1);
  require_moved(cells, tuned, same);
  EXPECT_FALSE(same.counts());
  EXPECT_NE(same.invalid.find("ft:full:4 answers each of the 10 items of coin id right or wrong exactly as its base"),
            std::string::npos) << same.invalid;
  Finding moved = cell_finding("Q2", "c", "x", tuned, base, d, "Mosbach", 0, MustWork::both, kMosbachMargin);
  tuned.items[2] = 1;
  require_moved(cells, tuned, moved);
  EXPECT_TRUE(moved.counts());
}

// A fine-tuned model that does not answer its own training prompts in format has not
// learned what it was trained on: it is not compared, whatever its test items say. The
// cell keeps the worst of its seeds.
TEST(Verdicts, AFineTunedModelThatHasNotLearnedItsTrainingFormatIsNotCompared) {
  const Cell works = cell("icl:8", 0.9, 0.8, 0.97, 0.55, 0.0);
  Cell tuned = cell("direct", 0.9, 0.8, 0.97, 0.55, 0.0);
  tuned.adaptation = "ft:lora:32", tuned.ft_task = "coin";
  const auto d = diff(0.3, 0.2, 0.4);
  tuned.ft_train_answered = 1.0;
  EXPECT_TRUE(cell_finding("Q1", "c", "x", tuned, works, d, "lit", +1).counts());
  tuned.ft_train_answered = 0.625;
  const Finding f = cell_finding("Q1", "c", "x", tuned, works, d, "lit", +1);
  EXPECT_FALSE(f.counts());
  EXPECT_NE(f.invalid.find("ft:lora:32 has not learned its training format: it answers 62% of its own training prompts"),
            std::string::npos) << f.invalid;
  tuned.ft_train_answered = -1;  // not recorded (protocol 2): judged by its test items alone
  EXPECT_TRUE(cell_finding("Q1", "c", "x", tuned, works, d, "lit", +1).counts());

  EvalRow row;
  row.preset = "m", row.recipe = "r", row.adaptation = "ft:lora:32", row.ft_method = "lora", row.ft_task = "coin";
  row.task = "coin", row.split = "id", row.method = "direct", row.item_correct = {1, 1};
  std::vector<EvalRow> rows(3, row);
  rows[0].train_seed = 1, rows[0].ft_train_answered = 1.0;
  rows[1].train_seed = 2, rows[1].ft_train_answered = 0.5;
  rows[2].train_seed = 3, rows[2].ft_train_answered = 0.875;
  const Cells cells = make_cells(rows, 1);
  ASSERT_EQ(cells.by_key.size(), 1u);
  EXPECT_DOUBLE_EQ(cells.by_key.begin()->second.ft_train_answered, 0.5);
}

}  // namespace
}  // namespace elab
