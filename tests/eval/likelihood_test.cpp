// mc:K, likelihood-scored multiple choice: every option of an item scored as " OPTION"
// after the icl:K prompt; acc takes the most likely, acc_norm the most likely per character
// (lm-evaluation-harness). Open answer sets and backends that cannot score are refused.
#include <gtest/gtest.h>

#include "eval/evaluate.h"
#include "tasks/registry.h"
#include "test_util.h"

namespace elab {
namespace {

// Gives " yes" log-likelihood -3.0 and " no" -2.5 after any prompt: per character, "yes"
// (-1.0) is the likelier one, in total "no". Records what it was asked.
struct YesNoScorer : Backend {
  std::vector<std::string> prompts, continuations;
  bool can_score = true;
  std::string name() const override { return "yes-no scorer"; }
  std::vector<Completion> complete(const std::vector<std::string>&, const GenerateOptions&) override {
    ADD_FAILURE() << "likelihood scoring generated text";
    return {};
  }
  bool score(const std::vector<std::string>& p, const std::vector<std::string>& c, std::vector<double>& lp) override {
    if (!can_score) return false;
    prompts.insert(prompts.end(), p.begin(), p.end());
    continuations.insert(continuations.end(), c.begin(), c.end());
    for (const auto& x : c) lp.push_back(x == " yes" ? -3.0 : -2.5);
    return true;
  }
};

TEST(Likelihood, AccTakesTheLikeliestOptionAndAccNormTheLikeliestPerCharacter) {
  auto coin = make_task("coin");
  EvalSpec spec;
  spec.n = 40;
  spec.show_progress = false;
  spec.method = "mc:2";
  const auto items = test_items(*coin, "id", spec.n, spec.seed);
  double yes = 0;
  for (const auto& e : items) yes += e.answer == "yes";
  yes /= double(items.size());
  YesNoScorer scorer;
  const auto r = evaluate(scorer, *coin, "coin", spec);
  EXPECT_DOUBLE_EQ(r.summary.accuracy, 1.0 - yes);  // "no" every time
  ASSERT_TRUE(r.summary.accuracy_norm.has_value());
  EXPECT_DOUBLE_EQ(*r.summary.accuracy_norm, yes);  // "yes" every time
  EXPECT_EQ(r.summary.protocol, "likelihood");
  EXPECT_EQ(r.summary.metrics.extract_fail, 0.0);
  // Two options per item, each after the icl:2 prompt of that item.
  ASSERT_EQ(scorer.continuations.size(), 2 * items.size());
  EXPECT_EQ(scorer.continuations[0], " yes");
  EXPECT_EQ(scorer.continuations[1], " no");
  spec.method = "icl:2";
  struct Echo : Backend {
    std::vector<std::string> seen;
    std::string name() const override { return "echo"; }
    std::vector<Completion> complete(const std::vector<std::string>& p, const GenerateOptions&) override {
      seen = p;
      return std::vector<Completion>(p.size(), Completion{" yes\n", 1, false});
    }
  } echo;
  evaluate(echo, *coin, "coin", spec);
  EXPECT_EQ(scorer.prompts[0], echo.seen[0]);
  EXPECT_EQ(scorer.prompts[1], echo.seen[0]);
  EXPECT_EQ(scorer.prompts[2], echo.seen[1]);
  // The samples say what was scored.
  EXPECT_EQ(r.samples[0]["options"], nlohmann::ordered_json({"yes", "no"}));
  EXPECT_EQ(r.samples[0]["extracted"], "no");
  EXPECT_EQ(r.samples[0]["extracted_norm"], "yes");
  // Round trip of the summary's new fields.
  const EvalSummary back = eval_summary_from_json(nlohmann::json::parse(to_json(r.summary).dump()), "test");
  EXPECT_EQ(back.protocol, "likelihood");
  EXPECT_EQ(back.accuracy_norm, r.summary.accuracy_norm);
}

TEST(Likelihood, OpenAnswersAndBackendsThatCannotScoreAreRefused) {
  EvalSpec spec;
  spec.n = 5;
  spec.show_progress = false;
  spec.method = "mc:0";
  YesNoScorer scorer;
  auto add = make_task("add");
  const std::string open = testing::error_of([&] { evaluate(scorer, *add, "add", spec); });
  EXPECT_NE(open.find("task add has open answers"), std::string::npos) << open;
  scorer.can_score = false;
  auto coin = make_task("coin");
  const std::string cannot = testing::error_of([&] { evaluate(scorer, *coin, "coin", spec); });
  EXPECT_NE(cannot.find("backend yes-no scorer cannot score them"), std::string::npos) << cannot;
  // iclass answers with its labels: A, B, ... as many as it has.
  auto iclass = make_task("iclass:labels=3");
  const auto options = iclass->answer_options(iclass->example("id", Pool::test, 1, 0));
  EXPECT_EQ(options, (std::vector<std::string>{"A", "B", "C"}));
}

}  // namespace
}  // namespace elab
