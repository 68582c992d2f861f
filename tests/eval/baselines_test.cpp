// Trivial baselines: the most frequent gold answer and its accuracy, chance over a closed
// answer set, computed on the items themselves.
#include <gtest/gtest.h>

#include "eval/evaluate.h"
#include "tasks/baselines.h"
#include "tasks/registry.h"

namespace elab {
namespace {

TEST(Baselines, TheMostFrequentAnswerAndChanceOverTheOptions) {
  auto coin = make_task("coin");
  const auto items = test_items(*coin, "id", 60, 3);
  int64_t yes = 0;
  for (const auto& e : items) yes += e.answer == "yes";
  const TrivialBaselines b = trivial_baselines(*coin, items);
  EXPECT_EQ(b.constant_answer, yes * 2 >= 60 ? "yes" : "no");
  EXPECT_DOUBLE_EQ(b.constant, double(std::max<int64_t>(yes, 60 - yes)) / 60);
  EXPECT_DOUBLE_EQ(b.chance, 0.5);
  EXPECT_DOUBLE_EQ(b.best(), std::max(b.constant, 0.5));

  // An open answer set has no chance level; its constant answer is rarely right.
  auto add = make_task("add");
  const TrivialBaselines open = trivial_baselines(*add, test_items(*add, "id", 100, 3));
  EXPECT_EQ(open.chance, 0.0);
  EXPECT_LT(open.constant, 0.1);

  // Multiple choice: 1/k for k options, averaged over items; case and spaces aside.
  struct Choice : Task {
    std::string name() const override { return "choice"; }
    std::string description() const override { return ""; }
    std::string instruction() const override { return ""; }
    std::vector<SplitInfo> splits() const override { return {{"id", ""}}; }
    AnswerKind answer_kind() const override { return AnswerKind::choice; }
    Example example(const std::string&, Pool, uint64_t, int64_t) const override { return {}; }
  } choice;
  std::vector<Example> mc(4);
  mc[0].question = "Options:\n(A) x\n(B) y\n(C) z\n(D) w", mc[0].answer = "(A)";
  mc[1].question = "Options:\n(A) x\n(B) y", mc[1].answer = " (a) ";
  mc[2].question = "Options:\n(A) x\n(B) y\n(C) z\n(D) w", mc[2].answer = "(B)";
  mc[3].question = "Options:\n(A) x\n(B) y\n(C) z\n(D) w", mc[3].answer = "(A)";
  const TrivialBaselines c = trivial_baselines(choice, mc);
  EXPECT_EQ(c.constant_answer, "(a)");
  EXPECT_DOUBLE_EQ(c.constant, 0.75);
  EXPECT_DOUBLE_EQ(c.chance, (0.25 * 3 + 0.5) / 4);
}

}  // namespace
}  // namespace elab
