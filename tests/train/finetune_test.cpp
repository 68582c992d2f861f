// The fine-tuning loop on a tiny model: adapters train while every base tensor stays
// bit-identical; the example stream counts only targets; early stopping keeps the best.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/rng.h"
#include "tasks/example_stream.h"
#include "tasks/registry.h"
#include "test_util.h"
#include "train/finetune.h"

namespace elab {
namespace {

std::vector<Example> some_examples(int n) {
  auto task = make_task("lastletter");
  std::vector<Example> out;
  for (int i = 0; i < n; ++i) out.push_back(task->example("id", Pool::exemplar, 5, i));
  return out;
}

TEST(ExampleStream, OneExampleARowWithOnlyTheTargetCounted) {
  auto examples = some_examples(3);
  ExampleStream s(examples, Format::direct, "", Tokenizer(), 1, false);
  TokenBatch b;
  s.batch(0, 4, 120, b);
  ByteTokenizer tok;
  const std::string prompt = render_prompt(examples[0]), target = render_target(examples[0], Format::direct);
  std::string counted;
  for (int t = 0; t < 120; ++t)
    if (b.loss_mask[size_t(t)]) counted += char(b.tokens[size_t(t + 1)]);
  EXPECT_EQ(counted, target);
  EXPECT_EQ(b.tokens[0], ByteTokenizer::kBos);
  EXPECT_EQ(b.tokens[size_t(1 + prompt.size() + target.size())], ByteTokenizer::kPad);
  // Row 3 wraps around to example 0 (no shuffle).
  EXPECT_TRUE(std::equal(b.tokens.begin(), b.tokens.begin() + 121, b.tokens.begin() + 3 * 121));
  // Shuffled epochs are permutations, and the same index gives the same batch.
  ExampleStream shuffled(examples, Format::direct, "", Tokenizer(), 1, true);
  TokenBatch x, y;
  shuffled.batch(7, 3, 120, x);
  shuffled.batch(7, 3, 120, y);
  EXPECT_EQ(x.tokens, y.tokens);
  EXPECT_NE(testing::error_of([&] { s.batch(0, 1, 10, b); }).find("more than the 11 of a row"), std::string::npos);
}

// k-shot rows (Bornschein et al. 2025): each row shows K other examples of its pool, as a
// K-shot prompt renders them, then its own prompt; only its own answer is in the loss.
TEST(ExampleStream, KShotRowsShowOtherExamplesAndCountOnlyTheirOwnAnswer) {
  auto examples = some_examples(6);
  const std::vector<Example> pool(examples.begin(), examples.begin() + 4);
  ExampleStream s(examples, Format::direct, "Answer.", Tokenizer(), 3, false, 2, &pool);
  EXPECT_NE(s.describe().find(" shots=2"), std::string::npos) << s.describe();
  ExampleStream plain(examples, Format::direct, "Answer.", Tokenizer(), 3, false);
  EXPECT_EQ(plain.describe().find("shots"), std::string::npos) << "keys of plain streams stay as they were";
  EXPECT_GT(s.longest(), plain.longest());
  TokenBatch b;
  const int64_t T = s.longest();
  s.batch(0, 6, T, b);
  ByteTokenizer tok;
  for (int r = 0; r < 6; ++r) {
    std::string text, counted;
    for (int64_t t = 0; t <= T; ++t) {
      const int32_t id = b.tokens[size_t(r * (T + 1) + t)];
      if (id < 256) text += char(id);
      if (t < T && b.loss_mask[size_t(r * T + t)]) counted += char(b.tokens[size_t(r * (T + 1) + t + 1)]);
    }
    const std::string own = render_prompt(examples[size_t(r)]);
    ASSERT_GE(text.size(), own.size());
    EXPECT_EQ(counted, render_target(examples[size_t(r)], Format::direct)) << "row " << r;
    // Two exemplars of the pool, never the row's own example, then its prompt.
    int shown = 0;
    for (size_t p = 0; p < pool.size(); ++p)
      if (text.find(render_example(pool[p], Format::direct) + kExampleSeparator) != std::string::npos) {
        ++shown;
        EXPECT_NE(pool[p].key, examples[size_t(r)].key) << "row " << r << " shows itself";
      }
    EXPECT_EQ(shown, 2) << text;
    EXPECT_NE(text.find(own + render_target(examples[size_t(r)], Format::direct)), std::string::npos) << text;
  }
  const std::vector<Example> one(examples.begin(), examples.begin() + 1);
  EXPECT_NE(testing::error_of([&] { ExampleStream(examples, Format::direct, "", Tokenizer(), 1, false, 2, &one); })
                .find("needs 2 other training examples"),
            std::string::npos);
}

TEST(Finetune, AdaptersTrainAndTheBaseStaysBitIdentical) {
  for (const char* method : {"lora", "prefix"}) {
    auto c = testing::tiny_config(32, 2, 2, 64, 128, 0.1);
    Transformer model(c, 3);
    std::vector<torch::Tensor> before;
    for (auto& [name, p] : named_weights(*model)) before.push_back(p.detach().clone());

    auto examples = some_examples(24);
    ExampleStream train(std::vector<Example>(examples.begin(), examples.end() - 4), Format::direct, "", Tokenizer(), 2, true);
    ExampleStream val(std::vector<Example>(examples.end() - 4, examples.end()), Format::direct, "", Tokenizer(), 0, false);
    FinetuneConfig cfg;
    cfg.method = method;
    cfg.steps = 30;
    cfg.batch_size = 8;
    cfg.seq_len = std::max(train.longest(), val.longest()) - 1;
    cfg.eval_every = 5;
    cfg.lr = 3e-2;
    cfg.workers = 2;  // as on a 2-core machine (a prefix encoder falls back to one thread)
    auto trainable = prepare_finetune(model, cfg);
    for (const auto& [name, p] : trainable) EXPECT_TRUE(name.find("lora_") != std::string::npos || name.find("prefix_encoder") != std::string::npos) << name;
    auto r = finetune(model, trainable, train, &val, val.size(), cfg, method);
    EXPECT_LT(r.best_val_loss, r.first_val_loss) << method;
    EXPECT_GT(r.best_step, 0);

    auto after = named_weights(*model);
    size_t i = 0;
    for (auto& [name, p] : after) {
      if (name.find("lora_") != std::string::npos) continue;
      ASSERT_LT(i, before.size());
      EXPECT_TRUE(torch::equal(p, before[i])) << method << ": base tensor " << name << " changed";
      ++i;
    }
    EXPECT_EQ(i, before.size());
    EXPECT_FALSE(model->prefix_encoder) << "the reparameterisation MLP is dropped after training";
    if (std::string(method) == "prefix") EXPECT_TRUE(model->has_prefix());
    if (std::string(method) == "lora") {
      // The restored best weights are what the model evaluates with.
      bool trained = false;
      for (auto& [name, p] : lora_weights(model))
        if (name.find("lora_B") != std::string::npos) trained |= p.abs().max().item<float>() > 0;
      EXPECT_TRUE(trained);
    }
  }
}

TEST(Finetune, FullFineTuningTrainsEverythingAndLessStateForLora) {
  auto c = testing::tiny_config(32, 2, 2, 64, 128, 0.1);
  auto examples = some_examples(12);
  ExampleStream train(examples, Format::direct, "", Tokenizer(), 2, true);
  int64_t bytes[2];
  int k = 0;
  for (const char* method : {"full", "lora"}) {
    Transformer model(c, 3);
    FinetuneConfig cfg;
    cfg.method = method;
    cfg.steps = 3;
    cfg.batch_size = 4;
    cfg.seq_len = train.longest() - 1;
    auto trainable = prepare_finetune(model, cfg);
    auto r = finetune(model, trainable, train, &train, train.size(), cfg, method);
    bytes[k++] = r.optimizer_bytes;
    if (std::string(method) == "full") EXPECT_EQ(r.trainable_parameters, c.param_count());
  }
  EXPECT_LT(bytes[1] * 5, bytes[0]) << "LoRA's optimiser state is a small fraction of full fine-tuning's";
}

}  // namespace
}  // namespace elab
