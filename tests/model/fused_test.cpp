// The fused CPU kernels (model/fused.h) against the libtorch operations they replace:
// values and gradients, on the specialised head sizes and the generic one, and a model's
// training pass that uses them against the same pass without them.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <ATen/autocast_mode.h>

#include <set>
#include <string>

#include "core/error.h"
#include "model/attention.h"
#include "model/fused.h"
#include "model/transformer.h"
#include "test_util.h"

namespace elab {

namespace {

// Restores the process-wide switch however a test ends.
struct KernelsSwitch {
  explicit KernelsSwitch(bool on) { set_fused_kernels(on); }
  ~KernelsSwitch() { set_fused_kernels(true); }
};

double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1e-6, b.abs().max().item<double>());
}

// The gradients of sum(out * probe) with respect to the inputs.
std::vector<torch::Tensor> grads_of(const torch::Tensor& out, const torch::Tensor& probe,
                                    const std::vector<torch::Tensor>& inputs) {
  return torch::autograd::grad({(out * probe).sum()}, inputs);
}

std::set<std::string> graph_node_names(const torch::Tensor& out) {
  std::set<std::string> names;
  std::vector<torch::autograd::Node*> stack{out.grad_fn().get()};
  std::set<torch::autograd::Node*> seen;
  while (!stack.empty()) {
    auto* node = stack.back();
    stack.pop_back();
    if (!node || !seen.insert(node).second) continue;
    names.insert(node->name());
    for (const auto& edge : node->next_edges()) stack.push_back(edge.function.get());
  }
  return names;
}

bool graph_has(const std::set<std::string>& names, const std::string& part) {
  for (const auto& n : names)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(FusedKernels, RmsNormMatchesThePlainOperationsInValueAndGradient) {
  torch::manual_seed(1);
  for (int64_t C : {64, 20})
    for (bool one_plus : {false, true}) {
      auto x = torch::randn({3, 37, C}, torch::requires_grad());
      auto w = (torch::randn({C}) * 0.3 + (one_plus ? 0.0 : 1.0)).requires_grad_();
      auto probe = torch::randn({3, 37, C});
      auto fused = fused_rms_norm(x, w, 1e-5, one_plus);
      auto plain = x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-5) * (one_plus ? 1 + w : w);
      EXPECT_LT(max_rel_diff(fused, plain), 1e-5) << C << one_plus;
      auto gf = grads_of(fused, probe, {x, w}), gp = grads_of(plain, probe, {x, w});
      EXPECT_LT(max_rel_diff(gf[0], gp[0]), 1e-4) << "dx " << C << one_plus;
      EXPECT_LT(max_rel_diff(gf[1], gp[1]), 1e-4) << "dw " << C << one_plus;
    }
}

TEST(FusedKernels, SwigluMatchesThePlainOperationsInValueAndGradient) {
  torch::manual_seed(2);
  for (int64_t F : {176, 13}) {
    auto gu = (torch::randn({5, 9, 2 * F}) * 4).requires_grad_();  // wide enough to reach both tails
    auto probe = torch::randn({5, 9, F});
    auto fused = fused_swiglu(gu);
    auto halves = gu.chunk(2, -1);
    auto plain = torch::silu(halves[0]) * halves[1];
    EXPECT_LT(max_rel_diff(fused, plain), 1e-5) << F;
    EXPECT_LT(max_rel_diff(grads_of(fused, probe, {gu})[0], grads_of(plain, probe, {gu})[0]), 1e-5) << F;
  }
}

// The kernel reads q, k and v from the fused projection, applies RoPE itself and writes
// (B, T, H * D): the same as RoPE, attention_reference and the transpose, in value and in
// the gradient of qkv, for a head size it specialises (16) and one it does not (12), with
// and without grouped key heads, from one position to the longest it takes.
TEST(FusedKernels, ShortAttentionMatchesRopeThenReferenceAttention) {
  torch::manual_seed(3);
  for (int64_t D : {16, 12})
    for (auto [H, K] : {std::pair<int64_t, int64_t>{4, 2}, {2, 2}})
      for (int64_t T : {int64_t(1), int64_t(7), kShortAttentionMaxLen}) {
        const int64_t B = 3;
        auto angles = torch::outer(torch::arange(T, torch::kFloat),
                                   torch::pow(10000.0, -torch::arange(0, D, 2, torch::kFloat) / double(D)));
        auto table = torch::cat({angles, angles}, -1);  // (T, D), as the model's
        auto cos = table.cos(), sin = table.sin();
        auto qkv = torch::randn({B, T, H + 2 * K, D}, torch::requires_grad());
        auto probe = torch::randn({B, T, H * D});
        auto fused = short_causal_attention(qkv, cos.view({1, 1, T, D}), sin.view({1, 1, T, D}), H, K);

        auto rotate_half = [](const torch::Tensor& x) {
          auto h = x.chunk(2, -1);
          return torch::cat({-h[1], h[0]}, -1);
        };
        auto rope = [&](const torch::Tensor& x) { return x * cos + rotate_half(x) * sin; };  // x: (B, heads, T, D)
        auto q = rope(qkv.narrow(2, 0, H).transpose(1, 2));
        auto k = rope(qkv.narrow(2, H, K).transpose(1, 2));
        auto v = qkv.narrow(2, H + K, K).transpose(1, 2);
        auto plain = attention_reference(q, k, v, {}, true).transpose(1, 2).reshape({B, T, H * D});

        const std::string where = "D=" + std::to_string(D) + " H=" + std::to_string(H) + " K=" + std::to_string(K) +
                                  " T=" + std::to_string(T);
        EXPECT_LT(max_rel_diff(fused, plain), 1e-5) << where;
        EXPECT_LT(max_rel_diff(grads_of(fused, probe, {qkv})[0], grads_of(plain, probe, {qkv})[0]), 1e-4) << where;
      }
}

// A model's training pass (grad mode) goes through the three kernels when they are on and
// through none when they are off, with the same logits and parameter gradients; and the
// pass that keeps a few positions gives the full pass's logits there.
TEST(FusedKernels, TrainingPassUsesThemAndMatchesThePlainPass) {
  auto config = testing::tiny_config(64, 2, 4, 96, 64);
  config.n_kv_heads = 2;
  auto ids = torch::randint(0, 256, {4, 20}, at::detail::createCPUGenerator(5), torch::kLong);
  auto run = [&](bool on) {
    KernelsSwitch kernels(on);
    Transformer model(config, 9);
    auto logits = model->forward(ids);
    auto nodes = graph_node_names(logits);
    auto loss = (logits * torch::linspace(-1, 1, logits.size(-1))).sum();
    loss.backward();
    std::vector<torch::Tensor> grads;
    for (auto& [name, p] : named_weights(*model)) grads.push_back(p.grad().clone());
    return std::tuple{logits.detach(), grads, nodes};
  };
  auto [fused_logits, fused_grads, fused_nodes] = run(true);
  auto [plain_logits, plain_grads, plain_nodes] = run(false);
  for (const char* kernel : {"RmsNormFunction", "SwigluFunction", "ShortAttentionFunction"}) {
    EXPECT_TRUE(graph_has(fused_nodes, kernel)) << kernel;
    EXPECT_FALSE(graph_has(plain_nodes, kernel)) << kernel;
  }
  EXPECT_LT(max_rel_diff(fused_logits, plain_logits), 1e-5);
  ASSERT_EQ(fused_grads.size(), plain_grads.size());
  for (size_t i = 0; i < fused_grads.size(); ++i) EXPECT_LT(max_rel_diff(fused_grads[i], plain_grads[i]), 1e-4) << i;

  Transformer model(config, 9);
  auto keep = torch::tensor({3, 19, 20, 41, 79}, torch::kLong);  // flat positions of the 4 x 20
  auto kept = model->logits(model->hidden(ids, nullptr, keep));
  auto full = model->forward(ids).reshape({80, -1}).index_select(0, keep);
  EXPECT_EQ(kept.size(0), 5);
  EXPECT_LT(max_rel_diff(kept, full), 1e-5);
}

TEST(FusedKernels, OutsideTheirCasesTheyStepAside) {
  auto x = torch::randn({2, 10, 32});
  auto w = torch::randn({32 * 3, 32});
  auto cos = torch::randn({1, 1, 10, 16});
  EXPECT_TRUE(short_attention_applies(x, w, cos, 16));
  EXPECT_FALSE(short_attention_applies(torch::randn({2, kShortAttentionMaxLen + 1, 32}), w,
                                       torch::randn({1, 1, kShortAttentionMaxLen + 1, 16}), 16));
  EXPECT_FALSE(short_attention_applies(x.to(torch::kBFloat16), w, cos, 16));
  EXPECT_FALSE(short_attention_applies(x, w, torch::randn({2, 1, 10, 16}), 16));  // a table per row (padding)
  EXPECT_FALSE(fused_swiglu_applies(torch::randn({4, 7})));                      // no even split
  at::autocast::set_cpu_enabled(true);  // bf16 products: q, k and v would arrive in bf16
  EXPECT_FALSE(short_attention_applies(x, w, cos, 16));
  at::autocast::set_cpu_enabled(false);
  {
    KernelsSwitch off(false);
    EXPECT_FALSE(short_attention_applies(x, w, cos, 16));
    EXPECT_FALSE(fused_rms_norm_applies(x, torch::ones({32})));
  }
  EXPECT_THROW(short_causal_attention(torch::randn({2, 10, 5, 16}), cos, cos, 2, 2), Error);
}

}  // namespace elab
