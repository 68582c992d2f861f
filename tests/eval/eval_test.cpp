#include <gtest/gtest.h>

#include <regex>
#include <torch/torch.h>

#include "core/error.h"
#include "core/rng.h"
#include "eval/evaluate.h"
#include "eval/generate.h"
#include "eval/method.h"
#include "eval/stats.h"
#include "tasks/registry.h"

namespace elab {

// A fake backend that answers every "a + b" prompt correctly except when told not to:
// the evaluator's bookkeeping can be checked without a trained model.
struct ArithmeticOracle : Backend {
  bool wrong_on_odd = false;
  std::vector<std::string> seen;
  std::string name() const override { return "oracle"; }
  std::vector<Completion> complete(const std::vector<std::string>& prompts, const GenerateOptions&) override {
    std::vector<Completion> out;
    for (size_t i = 0; i < prompts.size(); ++i) {
      seen.push_back(prompts[i]);
      const std::string& p = prompts[i];
      size_t q = p.rfind("Q: ");
      std::string question = p.substr(q);
      std::smatch m;
      static const std::regex nums(R"((\d+)\D+(\d+))");
      std::regex_search(question, m, nums);
      long sum = std::stol(m[1]) + std::stol(m[2]);
      bool wrong = wrong_on_odd && (i % 2 == 1);
      out.push_back({" " + std::to_string(wrong ? sum + 1 : sum), 3, false});
    }
    return out;
  }
};

TEST(Evaluate, ScoresAndReportsTheDocumentedFields) {
  auto task = make_task("add");
  ArithmeticOracle oracle;
  EvalSpec spec;
  spec.n = 40;
  auto r = evaluate(oracle, *task, "add", spec);
  EXPECT_EQ(r.summary["accuracy"], 1.0);
  for (const char* key : {"task", "split", "method", "model", "n", "accuracy", "ci95", "metrics"})
    EXPECT_TRUE(r.summary.contains(key)) << key;
  EXPECT_EQ(r.samples.size(), 40u);
  oracle.wrong_on_odd = true;
  r = evaluate(oracle, *task, "add", spec);
  EXPECT_DOUBLE_EQ(r.summary["accuracy"].get<double>(), 0.5);
  double lo = r.summary["ci95"][0], hi = r.summary["ci95"][1];
  EXPECT_LT(lo, 0.5);
  EXPECT_GT(hi, 0.5);
  EXPECT_EQ(r.samples[1]["correct"], false);
}

TEST(Evaluate, ExemplarsComeFromTheExemplarPoolAndAreShared) {
  auto task = make_task("add");
  ArithmeticOracle oracle;
  EvalSpec spec;
  spec.n = 10;
  spec.method = "icl:3";
  evaluate(oracle, *task, "add", spec);
  auto shots = exemplars(*task, 3, spec.seed);
  auto items = test_items(*task, "id", 10, spec.seed);
  for (const auto& s : shots) EXPECT_EQ(pool_of("add/id", s.key), Pool::exemplar);
  for (const auto& s : items) EXPECT_EQ(pool_of("add/id", s.key), Pool::test);
  for (const auto& p : oracle.seen) {
    EXPECT_EQ(p.rfind(render_example(shots[0], Format::direct), 0), 0u);  // same exemplars for every item
    EXPECT_EQ(std::count(p.begin(), p.end(), 'Q'), 4);
  }
}

TEST(Method, GrammarAndErrors) {
  EXPECT_EQ(parse_method("icl:4").shots, 4);
  EXPECT_EQ(parse_method("cot:2").format, Format::cot);
  EXPECT_EQ(parse_method("direct").shots, 0);
  EXPECT_THROW(parse_method("icl:-1"), Error);
  EXPECT_THROW(parse_method("icl"), Error);
  EXPECT_THROW(parse_method("icl:x"), Error);
  EXPECT_THROW(parse_method("direct:3"), Error);
  try {
    parse_method("zeroshot");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("valid: direct, icl, cot"), std::string::npos) << e.what();
  }
}

TEST(Stats, BootstrapCiCoversTheTrueMeanMostOfTheTime) {
  int covered = 0;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    Rng rng(seed);
    std::vector<double> xs;
    for (int i = 0; i < 200; ++i) xs.push_back(rng.bernoulli(0.3) ? 1.0 : 0.0);
    auto [lo, hi] = bootstrap_ci95(xs, seed, 1000);
    covered += lo <= 0.3 && 0.3 <= hi;
  }
  EXPECT_GE(covered, 90);
}

TEST(Generate, BatchSizeDoesNotChangeGreedyOutputs) {
  ModelConfig c;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 2;
  c.ffn_hidden = 64;
  c.max_seq_len = 96;
  c.init_std = 0.3;
  Transformer m(c, 2);
  ByteTokenizer tok;
  std::vector<std::string> prompts;
  Rng rng(3);
  for (int i = 0; i < 13; ++i) {
    std::string p;
    for (int64_t k = rng.uniform_int(1, 30); k > 0; --k) p.push_back(char('a' + rng.uniform_int(0, 25)));
    prompts.push_back(p);
  }
  GenerateOptions opts;
  opts.max_new_tokens = 12;
  opts.stop = {"q"};
  opts.batch_size = 1;
  auto one = generate_greedy(m, tok, prompts, opts);
  for (int b : {7, 64}) {
    opts.batch_size = b;
    auto many = generate_greedy(m, tok, prompts, opts);
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(one[i].text, many[i].text) << "prompt " << i << " batch " << b;
      EXPECT_EQ(one[i].tokens, many[i].tokens);
    }
  }
  opts.max_new_tokens = 90;
  EXPECT_THROW(generate_greedy(m, tok, prompts, opts), Error);  // cannot fit the context
}

}  // namespace elab
