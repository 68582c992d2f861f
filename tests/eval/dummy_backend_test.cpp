// Adding a backend is one file and one line: a dummy backend registered in this file alone
// ("constant:TEXT", every prompt answered TEXT) is made from a model string with its own
// option, refuses unknown options, is listed, and scores what its answers deserve.
#include <gtest/gtest.h>

#include "backends/registry.h"
#include "eval/evaluate.h"
#include "tasks/registry.h"
#include "test_util.h"

namespace elab {
namespace {

struct ConstantBackend : Backend {
  std::string answer;
  int64_t prompts_seen = 0;
  std::string name() const override { return "constant:" + answer; }
  std::vector<Completion> complete(const std::vector<std::string>& prompts, const GenerateOptions& o) override {
    prompts_seen += int64_t(prompts.size());
    return std::vector<Completion>(prompts.size() * size_t(o.num_samples), Completion{" " + answer + "\n", 2, false});
  }
};

TEST(Registries, ADummyBackendIsMadeFromItsModelStringAndScored) {
  register_backend({"constant", "constant:TEXT", "test: every prompt answered TEXT", {{"upper", "true: TEXT in capitals (false)"}}, "a constant has nothing to train"},
                   [](const std::string& rest, const BackendOptions& o) -> std::unique_ptr<Backend> {
                     auto b = std::make_unique<ConstantBackend>();
                     b->answer = rest;
                     if (o.flag("upper", false))
                       for (char& ch : b->answer) ch = char(std::toupper(static_cast<unsigned char>(ch)));
                     return b;
                   });
  EXPECT_NE(testing::error_of([] { register_backend({"constant", "", "", {}, ""}, nullptr); }).find("already registered"),
            std::string::npos);
  bool listed = false;
  for (const auto& e : backend_registry()) listed |= e.scheme == "constant";
  EXPECT_TRUE(listed);
  EXPECT_EQ(backend_for("constant:yes").cannot_train, "a constant has nothing to train");
  const std::string unknown = testing::error_of([] { make_backend("constant:yes", {{"colour", "red"}}); });
  EXPECT_NE(unknown.find("colour"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("upper"), std::string::npos) << unknown;

  // "yes" to every coin question scores the share of items whose answer is yes.
  auto task = make_task("coin");
  EvalSpec spec;
  spec.n = 40;
  spec.show_progress = false;
  const auto items = test_items(*task, "id", spec.n, spec.seed);
  double yes = 0;
  for (const auto& e : items) yes += e.answer == "yes";
  yes /= double(items.size());
  ASSERT_GT(yes, 0.0);
  ASSERT_LT(yes, 1.0);
  auto backend = make_backend("constant:yes");
  EXPECT_EQ(evaluate(*backend, *task, "coin", spec).summary.accuracy, yes);
  EXPECT_EQ(static_cast<ConstantBackend&>(*backend).prompts_seen, spec.n);
  // Its own option changes its answers: "YES" is not the strict answer "yes".
  auto upper = make_backend("constant:yes", {{"upper", "true"}});
  EXPECT_EQ(upper->name(), "constant:YES");
}

}  // namespace
}  // namespace elab
