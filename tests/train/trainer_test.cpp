#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/fs.h"
#include "model/checkpoint.h"
#include "model/fused.h"
#include "tasks/recipe.h"
#include "test_util.h"
#include "train/trainer.h"

namespace elab {

static ModelConfig tiny() { return testing::tiny_config(); }

static TrainConfig small_run() {
  TrainConfig cfg;
  cfg.batch_size = 8;
  cfg.seq_len = 32;
  cfg.grad_accum = 2;
  cfg.steps = 24;
  cfg.warmup_steps = 4;
  cfg.lr = 3e-3;
  cfg.eval_every = 5;
  cfg.eval_batches = 2;
  cfg.seed = 3;
  cfg.workers = 2;  // the default on a 2-core machine: resume and determinism hold with workers
  return cfg;
}

struct Streams {
  RecipeStream data{find_recipe("add"), 11, Pool::train};
  RecipeStream heldout{find_recipe("add"), 12, Pool::exemplar};
};

static void expect_same_weights(Transformer& a, Transformer& b) {
  auto pa = named_weights(*a), pb = named_weights(*b);
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i].second, pb[i].second)) << pa[i].first;
}

TEST(Schedule, WarmupThenCosineToFloor) {
  LrSchedule s{1.0, 0.1, 10, 110};
  EXPECT_NEAR(s.at(0), 0.1, 1e-12);
  EXPECT_NEAR(s.at(9), 1.0, 1e-12);
  EXPECT_NEAR(s.at(10), 1.0, 1e-12);
  EXPECT_NEAR(s.at(60), 0.55, 1e-12);
  EXPECT_NEAR(s.at(110), 0.1, 1e-12);
  for (int64_t t = 11; t < 110; ++t) EXPECT_LE(s.at(t), s.at(t - 1));
}

TEST(RecipeStream, BatchesAreAPureFunctionOfTheIndex) {
  Streams s;
  TokenBatch a, b, c;
  s.data.batch(7, 4, 32, a);
  s.data.batch(3, 4, 32, c);
  s.data.batch(7, 4, 32, b);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.loss_mask, b.loss_mask);
  EXPECT_NE(a.tokens, c.tokens);
  EXPECT_EQ(a.tokens.size(), size_t(4 * 33));
}

TEST(RecipeStream, AnswerOnlyLossCountsOnlyTargets) {
  Recipe r = find_recipe("add");
  r.answer_only_loss = true;
  RecipeStream s(r, 1, Pool::train);
  TokenBatch b;
  s.batch(0, 2, 64, b);
  // Every counted target lies after an "A:" and the first row starts with BOS.
  EXPECT_EQ(b.tokens[0], ByteTokenizer::kBos);
  int counted = 0;
  for (int64_t t = 0; t < 64; ++t) {
    if (!b.loss_mask[size_t(t)]) continue;
    ++counted;
    std::string before(b.tokens.begin(), b.tokens.begin() + t + 1);
    EXPECT_NE(before.rfind("A:"), std::string::npos);
  }
  EXPECT_GT(counted, 0);
  EXPECT_LT(counted, 64);
}

TEST(Trainer, SameSeedSameWeightsAndLossFalls) {
  testing::TempDir dir;
  Streams s;
  auto cfg = small_run();
  Transformer a(tiny(), 1), b(tiny(), 1);
  auto ra = train(a, s.data, s.heldout, cfg, {dir / "a", {}, false, "a"});
  auto rb = train(b, s.data, s.heldout, cfg, {dir / "b", {}, false, "b"});
  expect_same_weights(a, b);
  EXPECT_EQ(ra.heldout_loss, rb.heldout_loss);
  EXPECT_TRUE(ra.complete);
  // Held-out loss falls from its value at initialisation (ln 260 ~ 5.56).
  EXPECT_LT(ra.heldout_loss, 4.0);
  EXPECT_FALSE(fs::exists(dir / "a" / "optimizer.safetensors"));  // dropped at the end
  EXPECT_TRUE(fs::exists(dir / "a" / "train_log.jsonl"));
}

// StableMax (Prieto et al. 2025): the loss is -log(s(x_y) / sum_j s(x_j)) with s(x) = x + 1
// at and above 0 and 1 / (1 - x) below, finite gradients where x sits exactly on the
// branch points, and a run trained on it is another run than softmax's.
TEST(Trainer, StableMaxLossIsItsFormulaAndARunTrainsOnIt) {
  auto logits = torch::tensor({{1.0, -2.0, 0.0, 3.5}, {-0.5, 1.0, 1.0, -4.0}, {2.0, 2.0, -1.0, 0.25}}).requires_grad_(true);
  auto targets = torch::tensor({3, 0, -100}, torch::kLong);  // the last row not counted
  auto loss = cross_entropy_sum(logits, targets, OutputFunction::stablemax);
  auto s = [](double x) { return x >= 0 ? x + 1 : 1 / (1 - x); };
  const double row0 = -std::log(s(3.5) / (s(1) + s(-2) + s(0) + s(3.5)));
  const double row1 = -std::log(s(-0.5) / (s(-0.5) + s(1) + s(1) + s(-4)));
  EXPECT_NEAR(loss.item<double>(), row0 + row1, 1e-5);
  loss.backward();
  EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>());
  EXPECT_EQ(logits.grad()[2].abs().sum().item<double>(), 0.0);  // the uncounted row has no gradient
  // Softmax's is torch's cross-entropy, and not the same number.
  const double softmax = cross_entropy_sum(logits.detach(), targets, OutputFunction::softmax).item<double>();
  EXPECT_NEAR(softmax, torch::nn::functional::cross_entropy(logits.detach().narrow(0, 0, 2), targets.narrow(0, 0, 2),
                                                            torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                           .item<double>(), 1e-5);
  EXPECT_GT(std::abs(softmax - loss.item<double>()), 0.1);
  EXPECT_EQ(parse_output_function("stablemax"), OutputFunction::stablemax);
  EXPECT_THROW(parse_output_function("sparsemax"), Error);

  // A run with it: its held-out loss is the stablemax loss (falls from ~ln 260 too), the
  // weights differ from the softmax run's, and the checkpoint's config says which.
  testing::TempDir dir;
  Streams streams;
  auto cfg = small_run();
  cfg.steps = 12;
  Transformer a(tiny(), 1), b(tiny(), 1);
  train(a, streams.data, streams.heldout, cfg, {dir / "soft", {}, false, "soft"});
  cfg.output = OutputFunction::stablemax;
  auto rb = train(b, streams.data, streams.heldout, cfg, {dir / "stable", {}, false, "stable"});
  EXPECT_FALSE(torch::equal(named_weights(*a)[0].second, named_weights(*b)[0].second));
  EXPECT_LT(rb.heldout_loss, 5.0);
  EXPECT_EQ(cfg.to_json().value("output", ""), "stablemax");
  EXPECT_FALSE(small_run().to_json().contains("output"));  // absent = softmax, as in older checkpoints
}

// Workers that share a batch: the gradient of the whole batch (up to summation order),
// the same bits run after run (each worker's gradient is summed in worker order), and
// with more workers than rows they are capped at one row each.
TEST(Trainer, WorkersSharingABatchGiveTheOneThreadGradientDeterministically) {
  Streams s;
  TokenBatch batch;
  s.data.batch(0, 6, 32, batch);
  auto gradient = [&](int64_t workers, int64_t grad_accum) {
    Transformer model(tiny(), 5);
    TrainConfig cfg;
    cfg.batch_size = 6;
    cfg.seq_len = 32;
    cfg.grad_accum = grad_accum;
    cfg.workers = workers;
    cfg.grad_clip = 0;
    AdamW optimizer(named_weights(*model), cfg.adamw);
    auto stats = train_step(model, optimizer, batch, cfg, 0.0);  // lr 0: .grad is what we want
    std::vector<torch::Tensor> grads;
    for (auto& p : optimizer.parameters()) grads.push_back(p.grad().clone());
    grads.push_back(torch::tensor({stats.loss}, torch::kDouble));
    return grads;
  };
  auto one = gradient(1, 1), two = gradient(2, 1), again = gradient(2, 1), three_accum = gradient(3, 2),
       many = gradient(64, 1);
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    const double scale = std::max(1e-6, one[i].abs().max().item<double>());
    EXPECT_LT((two[i] - one[i]).abs().max().item<double>() / scale, 1e-5) << i;
    EXPECT_LT((three_accum[i] - one[i]).abs().max().item<double>() / scale, 1e-5) << i;
    EXPECT_LT((many[i] - one[i]).abs().max().item<double>() / scale, 1e-5) << i;
    EXPECT_TRUE(torch::equal(two[i], again[i])) << i;
  }
}

// The fused kernels and the positions kept past the last block's attention (the loss on
// answers counts a few positions a row) train the same run as libtorch's operations: the
// loss of every one of 30 steps within 1e-4, on a model whose rows they all apply to.
TEST(Trainer, FusedKernelsTrainTheSameRunAsThePlainOperations) {
  Recipe recipe = find_recipe("add");
  recipe.answer_only_loss = true;
  RecipeStream data(recipe, 11, Pool::train);
  auto losses = [&](bool fused) {
    set_fused_kernels(fused);
    Transformer model(tiny(), 4);
    TrainConfig cfg;
    cfg.batch_size = 8;
    cfg.seq_len = 48;  // within kShortAttentionMaxLen
    cfg.workers = 1;
    AdamW optimizer(named_weights(*model), cfg.adamw);
    std::vector<double> out;
    TokenBatch batch;
    for (int64_t step = 0; step < 30; ++step) {
      data.batch(step, 8, 48, batch);
      out.push_back(train_step(model, optimizer, batch, cfg, 3e-3).loss);
    }
    set_fused_kernels(true);
    return out;
  };
  auto fused = losses(true), plain = losses(false);
  ASSERT_EQ(fused.size(), plain.size());
  for (size_t i = 0; i < fused.size(); ++i) EXPECT_NEAR(fused[i], plain[i], 1e-4 * plain[i]) << "step " << i;
  EXPECT_LT(fused.back(), 0.8 * fused.front());  // and the run learns
}

// bf16 matrix products: the loss of a step is fp32's within 1% but not equal (the
// products really ran in bf16), and a short run learns as far as fp32 within 5%.
TEST(Trainer, Bf16TrainsLikeFp32) {
  Streams s;
  TokenBatch batch;
  s.data.batch(0, 8, 32, batch);
  auto step_loss = [&](const std::string& precision) {
    Transformer model(tiny(), 5);
    TrainConfig cfg;
    cfg.batch_size = 8;
    cfg.seq_len = 32;
    cfg.precision = parse_precision(precision);
    AdamW optimizer(named_weights(*model), cfg.adamw);
    return train_step(model, optimizer, batch, cfg, 1e-3).loss;
  };
  const double fp32 = step_loss("fp32"), bf16 = step_loss("bf16");
  EXPECT_NE(fp32, bf16);
  EXPECT_NEAR(bf16, fp32, 0.01 * fp32);

  testing::TempDir dir;
  auto cfg = small_run();
  Transformer a(tiny(), 1), b(tiny(), 1);
  auto ra = train(a, s.data, s.heldout, cfg, {dir / "fp32", {}, false, "fp32"});
  cfg.precision = Precision::bf16;
  auto rb = train(b, s.data, s.heldout, cfg, {dir / "bf16", {}, false, "bf16"});
  EXPECT_LT(rb.heldout_loss, 4.0);
  EXPECT_NEAR(rb.heldout_loss, ra.heldout_loss, 0.05 * ra.heldout_loss);
  // The precision is part of the run's settings: resuming it as fp32 is refused.
  cfg.precision = Precision::fp32;
  Transformer c(tiny(), 1);
  EXPECT_NE(testing::error_of([&] { train(c, s.data, s.heldout, cfg, {dir / "bf16", {}, true, "x"}); })
                .find("different settings"),
            std::string::npos);
}

TEST(Trainer, ResumeIsBitIdenticalToAnUninterruptedRun) {
  testing::TempDir dir;
  Streams s;
  auto cfg = small_run();
  Transformer straight(tiny(), 1);
  train(straight, s.data, s.heldout, cfg, {dir / "straight", {}, false, "straight"});

  auto first = cfg;
  first.stop_after = 9;
  Transformer part(tiny(), 1);
  auto r1 = train(part, s.data, s.heldout, first, {dir / "resumed", {}, false, "part 1"});
  EXPECT_FALSE(r1.complete);
  EXPECT_EQ(r1.steps_done, 9);
  ASSERT_TRUE(fs::exists(dir / "resumed" / "optimizer.safetensors"));

  Transformer resumed(tiny(), 999);  // a different init: the checkpoint must overwrite it
  auto r2 = train(resumed, s.data, s.heldout, cfg, {dir / "resumed", {}, true, "part 2"});
  EXPECT_TRUE(r2.complete);
  expect_same_weights(straight, resumed);

  // The log has each step once, and the checkpoint on disk is the final one.
  auto log = read_file(dir / "resumed" / "train_log.jsonl");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), cfg.steps);
  auto ck = load_checkpoint(dir / "resumed");
  expect_same_weights(straight, ck.model);
  EXPECT_EQ(ck.meta["steps"], cfg.steps);
}

TEST(Trainer, AResumeThatStopsBeforeItsFirstEvaluationReportsTheLastHeldOutLoss) {
  testing::TempDir dir;
  Streams s;
  auto cfg = small_run();  // held-out loss every 5 steps
  cfg.stop_after = 6;
  Transformer a(tiny(), 1);
  auto r1 = train(a, s.data, s.heldout, cfg, {dir / "run", {}, false, "to 6"});
  cfg.stop_after = 8;  // no evaluation at steps 7 and 8
  Transformer b(tiny(), 1);
  auto r2 = train(b, s.data, s.heldout, cfg, {dir / "run", {}, true, "to 8"});
  EXPECT_GT(r1.heldout_loss, 0.0);
  EXPECT_EQ(r2.heldout_loss, r1.heldout_loss);
}

TEST(Trainer, RefusesToOverwriteAndToResumeWithOtherSettings) {
  testing::TempDir dir;
  Streams s;
  auto cfg = small_run();
  cfg.stop_after = 3;
  Transformer m(tiny(), 1);
  train(m, s.data, s.heldout, cfg, {dir / "run", {}, false, "run"});
  EXPECT_THROW(train(m, s.data, s.heldout, cfg, {dir / "run", {}, false, "again"}), Error);
  auto other = cfg;
  other.lr = 1e-3;
  EXPECT_THROW(train(m, s.data, s.heldout, other, {dir / "run", {}, true, "other"}), Error);
  EXPECT_THROW(train(m, s.data, s.heldout, cfg, {dir / "missing", {}, true, "none"}), Error);
}

TEST(Trainer, BadConfigIsAnError) {
  auto cfg = small_run();
  cfg.steps = 0;
  EXPECT_THROW(cfg.validate(), Error);
  cfg = small_run();
  cfg.grad_accum = 3;  // does not divide 8
  EXPECT_THROW(cfg.validate(), Error);
}

}  // namespace elab
