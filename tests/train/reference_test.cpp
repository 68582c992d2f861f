// The optimiser and the gradients against references that do not share their code:
// libtorch's own torch::optim::AdamW over several steps with weight decay, gradient
// clipping and a warm-up + cosine schedule; and the whole model's gradient against
// central finite differences, for every parameter tensor.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/rng.h"
#include "model/checkpoint.h"
#include "test_util.h"
#include "train/adamw.h"
#include "train/schedule.h"

namespace elab {
namespace {

// Next-token cross-entropy of a fixed batch.
torch::Tensor batch_loss(Transformer& model, const torch::Tensor& ids) {
  auto logits = model->forward(ids.slice(1, 0, ids.size(1) - 1));
  auto targets = ids.slice(1, 1, ids.size(1));
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

torch::Tensor fixed_batch(int64_t vocab, uint64_t seed) {
  torch::Generator g = at::detail::createCPUGenerator(seed);
  return torch::randint(vocab, {4, 17}, g, torch::kLong);
}

TEST(Reference, AdamWMatchesTorchOptimAdamWWithDecayClippingAndSchedule) {
  const ModelConfig cfg = testing::tiny_config();
  Transformer ours(cfg, 7), theirs(cfg, 7);
  AdamWConfig oc;
  oc.beta1 = 0.9, oc.beta2 = 0.95, oc.eps = 1e-8, oc.weight_decay = 0.1;
  AdamW opt(named_weights(*ours), oc);
  // torch.optim.AdamW decays every parameter of a group: matrices in one group with the
  // decay, vectors (norm gains) in another without, as elab's AdamW does.
  std::vector<torch::Tensor> matrices, vectors;
  for (auto& [name, p] : named_weights(*theirs)) (p.dim() >= 2 ? matrices : vectors).push_back(p);
  using torch::optim::AdamWOptions;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(matrices, std::make_unique<AdamWOptions>(AdamWOptions(1e-3).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1)));
  groups.emplace_back(vectors, std::make_unique<AdamWOptions>(AdamWOptions(1e-3).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.0)));
  torch::optim::AdamW ref(std::move(groups), AdamWOptions(1e-3));
  const LrSchedule schedule{3e-3, 0.1, 3, 12, "cosine"};
  const double clip = 0.5;
  int clipped = 0;
  for (int64_t step = 0; step < 12; ++step) {
    const auto ids = fixed_batch(cfg.vocab_size, 100 + uint64_t(step));
    const double lr = schedule.at(step);
    opt.zero_grad();
    batch_loss(ours, ids).backward();
    const double norm = torch::nn::utils::clip_grad_norm_(opt.parameters(), clip);
    clipped += norm > clip;
    opt.step(lr);

    ref.zero_grad();
    batch_loss(theirs, ids).backward();
    std::vector<torch::Tensor> all = matrices;
    all.insert(all.end(), vectors.begin(), vectors.end());
    torch::nn::utils::clip_grad_norm_(all, clip);
    for (auto& group : ref.param_groups()) static_cast<AdamWOptions&>(group.options()).lr(lr);
    ref.step();

    auto a = named_weights(*ours), b = named_weights(*theirs);
    for (size_t i = 0; i < a.size(); ++i)
      ASSERT_LT((a[i].second - b[i].second).abs().max().item<double>(), 1e-6) << a[i].first << " after step " << step + 1;
  }
  EXPECT_GT(clipped, 0) << "the clip must act on some step, or it is not tested";
  // The weights moved: the comparison is not between two untouched models.
  Transformer init(cfg, 7);
  EXPECT_GT((named_weights(*ours)[0].second - named_weights(*init)[0].second).abs().max().item<double>(), 1e-3);
}

TEST(Reference, WholeModelGradientMatchesCentralFiniteDifferences) {
  // Double precision, so the difference quotient's error (~h^2) stays far below the tolerance.
  ModelConfig cfg = testing::tiny_config(16, 2, 2, 24, 32, 0.2);
  Transformer model(cfg, 3);
  model->to(torch::kDouble);
  const auto ids = fixed_batch(cfg.vocab_size, 5);
  for (auto& [name, p] : named_weights(*model))
    if (p.grad().defined()) p.mutable_grad().zero_();
  batch_loss(model, ids).backward();
  Rng rng(11);
  const double h = 1e-5;
  int checked = 0;
  for (auto& [name, p] : named_weights(*model)) {
    ASSERT_TRUE(p.grad().defined()) << name << " gets no gradient";
    const auto grad = p.grad().clone();
    auto flat = p.detach().view({-1});
    // Three entries of every tensor: the largest-gradient one and two drawn at random.
    std::vector<int64_t> where = {grad.abs().view({-1}).argmax().item<int64_t>(), rng.uniform_int(0, flat.numel() - 1),
                                  rng.uniform_int(0, flat.numel() - 1)};
    for (int64_t k : where) {
      torch::NoGradGuard no_grad;
      const double x = flat[k].item<double>();
      flat[k] = x + h;
      const double up = batch_loss(model, ids).item<double>();
      flat[k] = x - h;
      const double down = batch_loss(model, ids).item<double>();
      flat[k] = x;
      const double numeric = (up - down) / (2 * h);
      const double analytic = grad.view({-1})[k].item<double>();
      EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-4 * std::abs(numeric)) << name << "[" << k << "]";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 * int(named_weights(*model).size()));
}

}  // namespace
}  // namespace elab
