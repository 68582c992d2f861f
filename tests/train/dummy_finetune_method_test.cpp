// Adding a fine-tuning method is one file and one line: a dummy method registered in this
// file alone ("norms": only the normalisation gains are trained) is chosen by name, its
// own settings check runs, it trains exactly what it attaches, and it learns.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "tasks/example_stream.h"
#include "tasks/registry.h"
#include "test_util.h"
#include "train/finetune.h"

namespace elab {
namespace {

bool is_norm(const std::string& name) { return name.find("norm") != std::string::npos; }

TEST(Registries, ADummyFineTuningMethodTrainsWhatItAttaches) {
  FinetuneMethod norms;
  norms.name = "norms";
  norms.description = "test: the normalisation gains only";
  norms.default_lr = 3e-2;
  norms.validate = [](const FinetuneConfig& c) { check(c.steps <= 100, "--steps: norms trains at most 100 steps"); };
  norms.attach = [](Transformer& model, const FinetuneConfig&) {
    for (auto& [name, p] : named_weights(*model))
      if (is_norm(name)) p.set_requires_grad(true);
  };
  register_finetune_method(norms);
  EXPECT_NE(testing::error_of([&] { register_finetune_method(norms); }).find("already registered"), std::string::npos);
  const auto names = finetune_methods();
  EXPECT_NE(std::find(names.begin(), names.end(), "norms"), names.end());

  FinetuneConfig cfg;
  cfg.method = "norms";
  EXPECT_DOUBLE_EQ(cfg.learning_rate(), 3e-2);  // its default rate, through the one rule
  cfg.steps = 101;
  EXPECT_NE(testing::error_of([&] { cfg.validate(); }).find("norms trains at most 100 steps"), std::string::npos);

  Transformer model(testing::tiny_config(32, 2, 2, 64, 128, 0.1), 5);
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, p] : named_weights(*model)) before[name] = p.detach().clone();
  auto task = make_task("lastletter");
  std::vector<Example> examples;
  for (int i = 0; i < 8; ++i) examples.push_back(task->example("id", Pool::exemplar, 5, i));
  ExampleStream train(examples, Format::direct, "", Tokenizer(), 2, true);
  cfg.steps = 30;
  cfg.batch_size = 4;
  cfg.seq_len = train.longest() - 1;
  const auto trainable = prepare_finetune(model, cfg);
  ASSERT_FALSE(trainable.empty());
  for (const auto& [name, p] : trainable) EXPECT_TRUE(is_norm(name)) << name << " is trainable";
  const auto r = finetune(model, trainable, train, &train, train.size(), cfg, "norms");
  EXPECT_LT(r.best_val_loss, r.first_val_loss) << "the norms did not learn: " << r.steps_done << " steps, " << r.val_curve.size() << " validations, last " << r.val_curve.back().second;
  for (auto& [name, p] : named_weights(*model))
    EXPECT_EQ(torch::equal(p.detach(), before.at(name)), !is_norm(name)) << name;
}

}  // namespace
}  // namespace elab
