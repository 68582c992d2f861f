#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/attention.h"
#include "model/config.h"
#include "model/transformer.h"
#include "test_util.h"

namespace elab {

static ModelConfig tiny_config() { return testing::tiny_config(32, 2, 4, 64, 64, 0.2); }

static torch::Tensor random_ids(int64_t B, int64_t T, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randint(0, 256, {B, T}, gen, torch::kLong);
}

TEST(Presets, LadderGrowsAboutFourfoldAndCountsMatchTheModules) {
  const auto& ladder = presets();
  ASSERT_GE(ladder.size(), 8u);
  for (size_t i = 0; i < ladder.size(); ++i) {
    if (i > 0) {
      double ratio = double(ladder[i].config.param_count()) / double(ladder[i - 1].config.param_count());
      EXPECT_GT(ratio, 2.5) << ladder[i].name;
      EXPECT_LT(ratio, 6.0) << ladder[i].name;
    }
    if (ladder[i].config.param_count() < 30'000'000) {
      Transformer m(ladder[i].config, 1);
      int64_t n = 0;
      for (auto& p : m->parameters()) n += p.numel();
      EXPECT_EQ(n, ladder[i].config.param_count()) << ladder[i].name;
    }
  }
  EXPECT_NEAR(double(find_preset("xs").config.param_count()), 20e3, 5e3);
  EXPECT_NEAR(double(find_preset("xxl").config.param_count()), 20e6, 4e6);
}

TEST(Transformer, SameSeedSameWeights) {
  Transformer a(tiny_config(), 5), b(tiny_config(), 5), c(tiny_config(), 6);
  auto pa = named_weights(*a), pb = named_weights(*b), pc = named_weights(*c);
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].first, pb[i].first);
    EXPECT_TRUE(torch::equal(pa[i].second, pb[i].second)) << pa[i].first;
  }
  EXPECT_FALSE(torch::equal(pa[1].second, pc[1].second));
}

TEST(Transformer, HuggingFaceTensorNames) {
  auto cfg = tiny_config();
  Transformer m(cfg, 1);
  std::set<std::string> names;
  for (auto& [n, p] : named_weights(*m)) names.insert(n);
  for (const char* n : {"model.embed_tokens.weight", "model.norm.weight", "model.layers.0.self_attn.q_proj.weight",
                        "model.layers.1.self_attn.o_proj.weight", "model.layers.0.mlp.gate_proj.weight",
                        "model.layers.1.mlp.down_proj.weight", "model.layers.0.input_layernorm.weight",
                        "model.layers.1.post_attention_layernorm.weight"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_FALSE(names.count("lm_head.weight"));  // tied
  cfg.tie_embeddings = false;
  Transformer untied(cfg, 1);
  bool has_head = false;
  for (auto& [n, p] : named_weights(*untied)) has_head |= n == "lm_head.weight";
  EXPECT_TRUE(has_head);
}

TEST(Transformer, KVCacheDecodingMatchesFullForward) {
  torch::NoGradGuard no_grad;
  for (int kv_heads : {4, 2}) {  // multi-head and grouped-query attention
    auto cfg = tiny_config();
    cfg.n_kv_heads = kv_heads;
    Transformer m(cfg, 3);
    m->eval();
    auto ids = random_ids(3, 20, 11);
    auto full = m->forward(ids);  // (B, T, V)
    auto cache = m->make_cache(3, 20);
    // A 7-token prefill, then one token at a time, then a 4-token chunk.
    std::vector<torch::Tensor> parts;
    parts.push_back(m->forward(ids.narrow(1, 0, 7), &cache));
    for (int t = 7; t < 16; ++t) parts.push_back(m->forward(ids.narrow(1, t, 1), &cache));
    parts.push_back(m->forward(ids.narrow(1, 16, 4), &cache));
    auto incremental = torch::cat(parts, 1);
    EXPECT_EQ(cache.length, 20);
    EXPECT_LT((incremental - full).abs().max().item<double>(), 1e-4) << "kv_heads=" << kv_heads;
  }
}

TEST(Transformer, LeftPaddedBatchMatchesEachRowAlone) {
  torch::NoGradGuard no_grad;
  Transformer m(tiny_config(), 4);
  m->eval();
  auto a = random_ids(1, 9, 1), b = random_ids(1, 5, 2);
  // Row 1 is left-padded by 4.
  auto batch = torch::full({2, 9}, 258, torch::kLong);
  batch[0].copy_(a[0]);
  batch[1].narrow(0, 4, 5).copy_(b[0]);
  auto pad = torch::tensor({0, 4}, torch::kLong);
  auto cache = m->make_cache(2, 12, pad);
  auto logits = m->forward(batch, &cache);
  auto next = torch::tensor({{5}, {6}}, torch::kLong);
  auto step = m->forward(next, &cache);  // one decoding step with padding in the cache

  auto alone_a = m->forward(torch::cat({a, next[0].view({1, 1})}, 1));
  auto alone_b = m->forward(torch::cat({b, next[1].view({1, 1})}, 1));
  EXPECT_LT((logits[0] - alone_a[0].narrow(0, 0, 9)).abs().max().item<double>(), 1e-4);
  EXPECT_LT((logits[1].narrow(0, 4, 5) - alone_b[0].narrow(0, 0, 5)).abs().max().item<double>(), 1e-4);
  EXPECT_LT((step[0][0] - alone_a[0][9]).abs().max().item<double>(), 1e-4);
  EXPECT_LT((step[1][0] - alone_b[0][5]).abs().max().item<double>(), 1e-4);
}

TEST(Transformer, ReferenceAttentionAgreesWithDefaultPath) {
  torch::NoGradGuard no_grad;
  Transformer m(tiny_config(), 8);
  auto ids = random_ids(2, 16, 3);
  auto fast = m->forward(ids);
  m->set_reference_attention(true);
  auto ref = m->forward(ids);
  EXPECT_LT((fast - ref).abs().max().item<double>(), 1e-5);
}

// Grouped-query attention reads key head h / G for query head h without copying the keys:
// every path (prompt with and without a mask, one query over a short and a long cache)
// equals attention over key heads copied up to H with repeat_interleave.
TEST(Attention, GroupedQueriesEqualCopiedKeyHeads) {
  torch::manual_seed(7);
  for (int64_t T : {1, 5})
    for (int64_t S : {T == 1 ? int64_t(9) : T, int64_t(300)}) {
      auto q = torch::randn({2, 6, T, 8}), k = torch::randn({2, 2, S, 8}), v = torch::randn({2, 2, S, 8});
      auto key = torch::arange(S).view({1, 1, 1, S}), query = torch::arange(S - T, S).view({1, 1, T, 1});
      // (2, 1, T, S): row 1 has 3 padding positions, which see only themselves (as in the model)
      auto mask = ((key <= query) & (key >= torch::tensor({0, 3}).view({2, 1, 1, 1}))) | (key == query);
      for (const auto& allowed : {torch::Tensor(), mask}) {
        auto copied = attention(q, k.repeat_interleave(3, 1), v.repeat_interleave(3, 1), allowed, true);
        EXPECT_LT((attention(q, k, v, allowed, true) - copied).abs().max().item<double>(), 1e-5) << T << " " << S;
        EXPECT_LT((attention_reference(q, k, v, allowed, true) - copied).abs().max().item<double>(), 1e-5);
      }
    }
  auto q = torch::randn({1, 6, 1, 8}), k = torch::randn({1, 4, 3, 8});
  EXPECT_THROW(attention(q, k, k, {}, true), Error);  // 6 query heads cannot share 4 key heads
}

TEST(Transformer, ContextOverflowIsAnError) {
  Transformer m(tiny_config(), 1);
  EXPECT_THROW(m->forward(random_ids(1, 65, 1)), std::exception);
  EXPECT_THROW(m->make_cache(1, 100), std::exception);
}

// The attention block's analytic gradient (autograd through RoPE, masking, softmax and
// the projections) against central finite differences, in double precision.
TEST(Transformer, AttentionGradientMatchesFiniteDifferences) {
  auto cfg = tiny_config();
  cfg.d_model = 16;
  cfg.n_heads = 2;
  cfg.n_kv_heads = 2;
  cfg.init_std = 0.3;
  Transformer m(cfg, 9);
  m->to(torch::kDouble);
  auto* layer = (*m->model->layers)[0]->as<DecoderLayerImpl>();
  Attention attn = layer->self_attn;
  const int64_t T = 6, D = cfg.head_dim();
  auto cos = m->rope_cos.narrow(0, 0, T).view({1, 1, T, D});
  auto sin = m->rope_sin.narrow(0, 0, T).view({1, 1, T, D});
  auto gen = at::detail::createCPUGenerator(123);
  auto x = torch::randn({1, T, cfg.d_model}, gen, torch::kDouble).requires_grad_(true);
  auto w = torch::randn({1, T, cfg.d_model}, gen, torch::kDouble);
  auto f = [&](const torch::Tensor& input) {
    return (attn->forward(input, cos, sin, {}, nullptr, nullptr, 0) * w).sum();
  };
  f(x).backward();
  auto grad_x = x.grad().clone();
  auto& wq = attn->q_proj->weight;
  auto grad_wq = wq.grad().clone();

  torch::NoGradGuard no_grad;
  auto xd = x.detach().clone();
  // Central differences of f with respect to every `stride`-th entry of `param`.
  auto check_against_finite_differences = [&](torch::Tensor param, const torch::Tensor& grad, int64_t stride,
                                              const char* what) {
    const double eps = 1e-6;
    auto flat = param.view(-1);
    for (int64_t i = 0; i < flat.numel(); i += stride) {
      double orig = flat[i].item<double>();
      flat[i] = orig + eps;
      double up = f(xd).item<double>();
      flat[i] = orig - eps;
      double down = f(xd).item<double>();
      flat[i] = orig;
      EXPECT_NEAR(grad.view(-1)[i].item<double>(), (up - down) / (2 * eps), 1e-6) << what << "[" << i << "]";
    }
  };
  check_against_finite_differences(xd, grad_x, 7, "x");
  check_against_finite_differences(wq.detach(), grad_wq, 11, "q_proj");
}

}  // namespace elab

namespace elab {

// N continuations of left-padded prompts: a shared-prefix cache (one copy of each prompt)
// gives the logits of the plain cache with the prompt repeated N times, in prefill
// chunks and single steps, and after dropping rows.
TEST(Transformer, SharedPrefixCacheMatchesRepeatedPrompts) {
  torch::NoGradGuard no_grad;
  for (int kv_heads : {4, 2}) {
    auto cfg = tiny_config();
    cfg.n_kv_heads = kv_heads;
    Transformer m(cfg, 12);
    const int64_t N = 3;
    auto a = random_ids(1, 9, 1), b = random_ids(1, 5, 2);
    auto prompts = torch::full({2, 9}, 258, torch::kLong);
    prompts[0].copy_(a[0]);
    prompts[1].narrow(0, 4, 5).copy_(b[0]);
    auto pad = torch::tensor({0, 4}, torch::kLong);

    auto plain = m->make_cache(2 * N, 20, pad.repeat_interleave(N, 0));
    m->forward(prompts.repeat_interleave(N, 0), &plain);
    auto prompt_cache = m->make_cache(2, 9, pad);
    m->forward(prompts, &prompt_cache);
    auto shared = share_prefix(prompt_cache, N, 11);
    EXPECT_EQ(shared.prefix_length(), 9);

    auto chunk = random_ids(2 * N, 3, 5);  // a 3-token chunk, then single tokens
    EXPECT_LT((m->forward(chunk, &plain) - m->forward(chunk, &shared)).abs().max().item<double>(), 1e-4);
    for (int t = 0; t < 3; ++t) {
      auto step = random_ids(2 * N, 1, 10 + t);
      EXPECT_LT((m->forward(step, &plain) - m->forward(step, &shared)).abs().max().item<double>(), 1e-4);
    }
    auto keep = torch::tensor({1, 3, 5}, torch::kLong);  // rows of both prompts
    select_rows(plain, keep);
    select_rows(shared, keep);
    auto step = random_ids(3, 1, 20);
    EXPECT_LT((m->forward(step, &plain) - m->forward(step, &shared)).abs().max().item<double>(), 1e-4);
  }
}

}  // namespace elab

namespace elab {
namespace {

// 8-bit weights: the one-row kernel (model/q8.cpp) computes the product with the
// dequantised matrix, and the quantisation error is that of 8 bits per block of 32.
TEST(Q8Weights, MatvecEqualsTheDequantisedProductAndStaysCloseToFloat32) {
  torch::manual_seed(3);
  LinearImpl linear(96, 40, /*with_bias=*/true);
  linear.weight.data().normal_(0, 0.5);
  linear.bias.data().normal_(0, 0.5);
  torch::NoGradGuard no_grad;
  auto exact_weight = linear.weight.clone();
  auto x = torch::randn({1, 1, 96});
  auto exact = torch::nn::functional::linear(x, exact_weight, linear.bias);
  linear.quantize_q8();
  ASSERT_EQ(linear.weight.numel(), 0);
  auto dequantised = (linear.q8.to(torch::kFloat).view({40, 3, 32}) * linear.q8_scale.unsqueeze(-1)).view({40, 96});
  auto one_row = linear.forward(x);
  EXPECT_LT((one_row - torch::nn::functional::linear(x, dequantised, linear.bias)).abs().max().item<double>(), 1e-4);
  // Rounding to 8 bits moves each weight by at most half a step (scale / 2).
  EXPECT_LE((dequantised - exact_weight).abs().max().item<double>(),
            linear.q8_scale.max().item<double>() / 2 + 1e-6);
  // Hence |y - y_exact| <= (max scale / 2) * sum |x|, row by row.
  EXPECT_LE((one_row - exact).abs().max().item<double>(),
            linear.q8_scale.max().item<double>() / 2 * x.abs().sum().item<double>() + 1e-5);
  // A decoding batch (up to 16 rows: the kernel, 8 vectors a pass) and a prompt (the
  // dequantised product) compute the same function.
  for (int64_t n : {3, 8, 11, 40}) {
    auto rows = torch::randn({n, 1, 96});
    EXPECT_LT((linear.forward(rows) - torch::nn::functional::linear(rows, dequantised, linear.bias)).abs().max().item<double>(),
              1e-4) << n << " rows";
  }
}

}  // namespace
}  // namespace elab
