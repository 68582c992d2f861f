// Adding a format is one file and one line: a dummy format registered in this file alone
// ("upper": the answer in capitals, read back in lower case) renders training examples
// and recipes, and with a method of its own (registered here too) its exemplars show it
// and a model that answers in it scores as the format's reader says.
#include <gtest/gtest.h>

#include <algorithm>

#include "eval/evaluate.h"
#include "eval/method.h"
#include "tasks/format.h"
#include "tasks/recipe.h"
#include "tasks/registry.h"
#include "test_util.h"

namespace elab {
namespace {

std::string upper(std::string s) {
  for (char& ch : s) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

std::string lower(std::string s) {
  for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Answers each item in capitals, from the items it is given.
struct CapitalsOracle : Backend {
  std::vector<Example> items;
  std::vector<std::string> seen;
  std::string name() const override { return "capitals"; }
  std::vector<Completion> complete(const std::vector<std::string>& prompts, const GenerateOptions& o) override {
    std::vector<Completion> out;
    for (size_t i = 0; i < prompts.size(); ++i) {
      seen.push_back(prompts[i]);
      out.push_back({" " + upper(items[size_t(o.item_index.at(i))].answer) + "\n", 2, false});
    }
    return out;
  }
};

TEST(Registries, ADummyFormatRendersExamplesRecipesAndItsMethod) {
  register_format({"upper", "the answer in capitals", [](const Example& e) { return " " + upper(e.answer) + "\n"; },
                   [](const Task& t, const Example&) { return t.answer_kind() == AnswerKind::text; }, false, false,
                   [](const std::string& output) { return lower(output); }});
  register_method({"upper", "upper:K", "test: K exemplars in capitals, read back in lower case",
                   [](const MethodArgs& a) { return a.shots_in(parse_format("upper")); }});
  const auto names = format_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "upper"), names.end());

  auto task = make_task("lastletter");
  const Example e = task->example("id", Pool::exemplar, 3, 0);
  EXPECT_NE(render_example(e, parse_format("upper")).find("A: " + upper(e.answer) + "\n"), std::string::npos);
  const Recipe recipe = find_recipe("task:lastletter@upper");
  ASSERT_EQ(recipe.entries.size(), 1u);
  EXPECT_EQ(format_name(recipe.entries[0].format), std::string("upper"));

  CapitalsOracle oracle;
  EvalSpec spec;
  spec.n = 20;
  spec.show_progress = false;
  spec.method = "upper:2";
  oracle.items = test_items(*task, "id", spec.n, spec.seed);
  EXPECT_EQ(evaluate(oracle, *task, "lastletter", spec).summary.accuracy, 1.0);
  const auto shots = exemplars(*task, 2, spec.seed);
  EXPECT_NE(oracle.seen[0].find("A: " + upper(shots[0].answer) + "\n"), std::string::npos) << oracle.seen[0];
  // Without the format's reader the same capitals are wrong answers.
  spec.method = "icl:2";
  EXPECT_EQ(evaluate(oracle, *task, "lastletter", spec).summary.accuracy, 0.0);
}

}  // namespace
}  // namespace elab
