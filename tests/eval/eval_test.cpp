#include <gtest/gtest.h>
#include <torch/torch.h>

#include <regex>

#include "core/error.h"
#include "core/rng.h"
#include "eval/evaluate.h"
#include "eval/generate.h"
#include "eval/method.h"
#include "eval/stats.h"
#include "eval/vote.h"
#include "tasks/extract.h"
#include "tasks/registry.h"
#include "test_util.h"

namespace elab {

// A fake backend that answers "a + b" prompts: correctly, or wrongly on odd items, or
// with a different answer per sample. The evaluator's bookkeeping is checked without a
// trained model.
struct ArithmeticOracle : Backend {
  bool wrong_on_odd = false;
  std::function<std::string(long sum, int sample)> per_sample;  // for N > 1
  std::vector<std::string> seen;
  std::string name() const override { return "oracle"; }
  std::vector<Completion> complete(const std::vector<std::string>& prompts, const GenerateOptions& opts) override {
    std::vector<Completion> out;
    for (size_t i = 0; i < prompts.size(); ++i) {
      seen.push_back(prompts[i]);
      std::string question = prompts[i].substr(prompts[i].rfind("Q: "));
      std::smatch m;
      static const std::regex nums(R"((\d+)\D+(\d+))");
      std::regex_search(question, m, nums);
      long sum = std::stol(m[1]) + std::stol(m[2]);
      for (int j = 0; j < opts.num_samples; ++j) {
        std::string text = per_sample ? per_sample(sum, j) : " " + std::to_string(wrong_on_odd && i % 2 ? sum + 1 : sum);
        out.push_back({text, 3, false});
      }
    }
    return out;
  }
};

static ModelConfig tiny_config() { return testing::tiny_config(32, 2, 2, 64, 96, 0.3); }

static std::vector<std::string> random_prompts(int n, uint64_t seed) {
  std::vector<std::string> prompts;
  Rng rng(seed);
  for (int i = 0; i < n; ++i) {
    std::string p;
    for (int64_t k = rng.uniform_int(1, 30); k > 0; --k) p.push_back(char('a' + rng.uniform_int(0, 25)));
    prompts.push_back(p);
  }
  return prompts;
}

TEST(Evaluate, ScoresAndReportsTheDocumentedFields) {
  auto task = make_task("add");
  ArithmeticOracle oracle;
  EvalSpec spec;
  spec.n = 40;
  auto r = evaluate(oracle, *task, "add", spec);
  EXPECT_EQ(r.summary.accuracy, 1.0);
  // The --json form carries the documented keys, and reads back to the same summary.
  const auto j = to_json(r.summary);
  for (const char* key : {"task", "split", "method", "model", "n", "accuracy", "ci95", "metrics", "item_correct"})
    EXPECT_TRUE(j.contains(key)) << key;
  for (const char* key : {"extract_fail", "char_accuracy", "edit_distance", "gold_logprob", "mean_generated_tokens", "seconds",
                          "tokens_per_s"})
    EXPECT_TRUE(j["metrics"].contains(key)) << key;
  EXPECT_TRUE(j["metrics"]["gold_logprob"].is_null());  // the oracle cannot score
  EXPECT_FALSE(r.summary.metrics.gold_logprob.has_value());
  EXPECT_EQ(to_json(eval_summary_from_json(nlohmann::json::parse(j.dump()), "test")).dump(), j.dump());
  EXPECT_EQ(r.samples.size(), 40u);
  EXPECT_EQ(r.summary.split, "id");
  oracle.wrong_on_odd = true;
  r = evaluate(oracle, *task, "add", spec);
  EXPECT_DOUBLE_EQ(r.summary.accuracy, 0.5);
  const double lo = r.summary.ci_lo, hi = r.summary.ci_hi;
  EXPECT_LT(lo, 0.5);
  EXPECT_GT(hi, 0.5);
  EXPECT_EQ(r.samples[1]["correct"], false);
  EXPECT_LT(r.summary.metrics.char_accuracy, 1.0);
  EXPECT_GT(r.summary.metrics.edit_distance, 0.0);
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
  oracle.seen.clear();
  spec.per_item_exemplars = true;
  evaluate(oracle, *task, "add", spec);
  EXPECT_NE(oracle.seen[0].substr(0, 20), oracle.seen[1].substr(0, 20));
}

TEST(Evaluate, SelfConsistencyVotesAndIgnoresFailedExtractions) {
  auto task = make_task("add");
  ArithmeticOracle oracle;
  // Sample 0: no answer, 1: wrong, 2 and 3: right (one with a thousands separator).
  oracle.per_sample = [](long sum, int j) -> std::string {
    if (j == 0) return "I am not sure";
    if (j == 1) return "So the answer is " + std::to_string(sum + 7) + ".";
    std::string s = std::to_string(sum);
    if (j == 2 && s.size() > 3) s.insert(s.size() - 3, ",");
    return "So the answer is " + s + ".";
  };
  EvalSpec spec;
  spec.n = 20;
  spec.method = "sc:2:4";
  auto r = evaluate(oracle, *task, "add", spec);
  EXPECT_EQ(r.summary.accuracy, 1.0);
  EXPECT_EQ(r.samples[0]["outputs"].size(), 4u);
  EXPECT_TRUE(r.samples[0]["extracted_each"][0].get<std::string>().empty());
}

TEST(Evaluate, ProbesChangeTheExemplarsAsDocumented) {
  auto add = make_task("add");
  auto coin = make_task("coin");
  auto base = method_exemplars(*add, parse_method("icl:3"), 1, 0, false);
  auto rnd = method_exemplars(*add, parse_method("icl:3:random-labels"), 1, 0, false);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rnd[i].question, base[i].question);
    EXPECT_EQ(rnd[i].answer, base[(i + 1) % 3].answer);
  }
  auto cbase = method_exemplars(*coin, parse_method("icl:4"), 1, 0, false);
  auto flipped = method_exemplars(*coin, parse_method("icl:4:flipped"), 1, 0, false);
  for (size_t i = 0; i < 4; ++i) EXPECT_NE(flipped[i].answer, cbase[i].answer);
  EXPECT_THROW(method_exemplars(*add, parse_method("icl:2:flipped"), 1, 0, false), Error);  // not yes/no
  auto m = parse_method("icl:2:no-question");
  auto prompt = method_prompt(m, base, base[2]);
  EXPECT_EQ(std::count(prompt.begin(), prompt.end(), 'Q'), 1) << prompt;
  // complex: the K exemplars with the most rationale steps
  auto cx = method_exemplars(*add, parse_method("complex:3:4"), 1, 0, false);
  auto pool = exemplars(*add, 32, 1);
  size_t max_steps = 0;
  for (const auto& e : pool) max_steps = std::max<size_t>(max_steps, std::count(e.rationale.begin(), e.rationale.end(), '\n'));
  EXPECT_EQ(size_t(std::count(cx[0].rationale.begin(), cx[0].rationale.end(), '\n')), max_steps);
}

TEST(Vote, MajorityIgnoresFailuresMergesNormalisedFormsAndBreaksTiesByFirst) {
  std::vector<std::string> raw = {"no idea", "The answer is 1,000.", "1000", "So the answer is 7", "7"};
  std::vector<std::string> extracted;
  for (const auto& r : raw) extracted.push_back(extract_number(r));
  EXPECT_EQ(extracted[0], "");
  EXPECT_EQ(majority_vote(extracted), "1000");  // 2 votes each for 1000 and 7; 1000 came first
  EXPECT_EQ(majority_vote({"", "", "3"}), "3");
  EXPECT_EQ(majority_vote({"", ""}), "");
  EXPECT_EQ(majority_vote({"5", "6", "6"}), "6");
}

TEST(Vote, ComplexityRanksChainsByTheirSteps) {
  std::vector<std::string> chains = {"\na\nSo the answer is 1.", "\na\nb\nc\nSo the answer is 2.", "\na\nb\nSo the answer is 3.",
                                     "\nx\ny\nz\nSo the answer is 4."};
  EXPECT_EQ(chain_steps(chains[1]), 3);
  EXPECT_EQ(most_complex(chains, 2), (std::vector<size_t>{1, 3}));  // tie: the earlier first
  EXPECT_EQ(most_complex(chains, 1), (std::vector<size_t>{1}));
}

// chat:METHOD: the method's exemplars as user and assistant turns of the model's template,
// the gold scored after the assistant's opening; a backend without a template is refused.
TEST(Method, ChatPrefixRendersTheExemplarsAsTurnsOfTheModelsTemplate) {
  const Method m = parse_method("chat:icl:2");
  EXPECT_TRUE(m.chat);
  EXPECT_EQ(m.kind, "icl");
  EXPECT_EQ(m.shots, 2);
  EXPECT_EQ(m.spec, "chat:icl:2");
  EXPECT_EQ(parse_method("chat:icl:4:flipped").unprobed, "chat:icl:4");
  for (const char* bad : {"chat:", "chat:chat:icl:2", "chat:icl"}) EXPECT_THROW(parse_method(bad), Error) << bad;

  auto task = make_task("add");
  const Example a{"1 + 2", "", "3"}, b{"4 + 4", "", "8"}, q{"2 + 2", "", "4"};
  const ChatTemplate chatml{"chatml", ""};
  EXPECT_EQ(chat_prompt(chatml, m, {a, b}, q),
            "<|im_start|>user\nQ: 1 + 2\nA:<|im_end|>\n<|im_start|>assistant\n3<|im_end|>\n"
            "<|im_start|>user\nQ: 4 + 4\nA:<|im_end|>\n<|im_start|>assistant\n8<|im_end|>\n"
            "<|im_start|>user\nQ: 2 + 2\nA:<|im_end|>\n<|im_start|>assistant\n");

  struct Templated : ArithmeticOracle {
    std::optional<ChatTemplate> chat_template() const override { return ChatTemplate{"gemma", ""}; }
  } templated;
  EvalSpec spec;
  spec.method = "chat:icl:2";
  spec.n = 4;
  spec.gold_logprob = false;
  const auto r = evaluate(templated, *task, "add", spec);
  EXPECT_DOUBLE_EQ(r.summary.accuracy, 1.0);  // the oracle reads the last question as before
  ASSERT_EQ(templated.seen.size(), 4u);
  EXPECT_EQ(templated.seen[0].rfind("<start_of_turn>user\nQ: ", 0), 0u) << templated.seen[0];
  EXPECT_NE(templated.seen[0].find("<end_of_turn>\n<start_of_turn>model\n"), std::string::npos);
  EXPECT_NE(std::find(r.summary.notes.begin(), r.summary.notes.end(), "prompts rendered in the model's gemma chat template"),
            r.summary.notes.end());

  ArithmeticOracle plain;
  const std::string message = testing::error_of([&] { evaluate(plain, *task, "add", spec); });
  EXPECT_NE(message.find("chat:icl:2 asks for the model's chat template, and oracle has none"), std::string::npos) << message;
}

TEST(Method, GrammarAndErrors) {
  EXPECT_EQ(parse_method("icl:4").shots, 4);
  EXPECT_EQ(parse_method("cot:2").format, Format::cot);
  EXPECT_EQ(parse_method("direct").shots, 0);
  auto sc = parse_method("sc:4:8");
  EXPECT_EQ(sc.samples, 8);
  EXPECT_DOUBLE_EQ(sc.temperature, 0.7);
  EXPECT_DOUBLE_EQ(parse_method("sc:4:8:1.2").temperature, 1.2);
  auto cx = parse_method("complex:4:8");
  EXPECT_EQ(cx.vote_top, 4);
  EXPECT_EQ(parse_method("complex:4:8:3").vote_top, 3);
  EXPECT_EQ(parse_method("icl:4:random-labels").probe, "random-labels");
  for (const char* bad : {"icl:-1", "icl", "icl:x", "direct:3", "sc:4", "sc:4:0", "complex:4:2:3", "icl:4:shuffled",
                          "icl:1:random-labels", "sc:4:8:-1"})
    EXPECT_THROW(parse_method(bad), Error) << bad;
  try {
    parse_method("zeroshot");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("valid: direct, icl, cot, sc, complex"), std::string::npos) << e.what();
  }
  try {
    parse_method("sc:4");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sc:K:N[:T]"), std::string::npos) << e.what();
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

TEST(Stats, PairedBootstrapSign) {
  // b is right on 50% of items; a on the same items plus 20% more.
  std::vector<double> a, b;
  Rng rng(5);
  for (int i = 0; i < 300; ++i) {
    bool bi = rng.bernoulli(0.5);
    b.push_back(bi);
    a.push_back(bi || rng.bernoulli(0.4));
  }
  auto d = paired_bootstrap(a, b, 1);
  EXPECT_GT(d.diff, 0.1);
  EXPECT_GT(d.lo, 0);
  EXPECT_TRUE(d.resolved());
  auto r = paired_bootstrap(b, a, 1);
  EXPECT_LT(r.hi, 0);
  auto same = paired_bootstrap(a, a, 1);
  EXPECT_EQ(same.diff, 0);
  EXPECT_FALSE(same.resolved());
  EXPECT_THROW(paired_bootstrap(a, {1.0}, 1), Error);
}

// Seeds as clusters: when training seeds disagree, the interval widens to show it; with
// one cluster it is the item-level interval, bit for bit.
TEST(Stats, ClusteredBootstrapCarriesSeedToSeedVariance) {
  std::vector<double> xs;  // three seeds of 200 items: accuracy 0.2, 0.5, 0.8
  Rng rng(7);
  for (double p : {0.2, 0.5, 0.8})
    for (int i = 0; i < 200; ++i) xs.push_back(rng.bernoulli(p));
  const auto [lo1, hi1] = bootstrap_ci95(xs, 3);
  const auto [lo3, hi3] = bootstrap_ci95_clustered(xs, 3, 3);
  EXPECT_LT(hi1 - lo1, 0.09);  // items alone: about +-0.04
  EXPECT_GT(hi3 - lo3, 0.3) << "resampling three very different seeds spans most of 0.2..0.8";
  EXPECT_EQ(bootstrap_ci95_clustered(xs, 1, 3), bootstrap_ci95(xs, 3));
  EXPECT_EQ(bootstrap_ci95_clustered(xs, 7, 3), bootstrap_ci95(xs, 3)) << "blocks that do not divide: item level";
  // A paired difference whose sign flips between seeds is not resolved with clusters,
  // though it is with items alone.
  std::vector<double> a, b;
  for (int s = 0; s < 3; ++s)
    for (int i = 0; i < 200; ++i) {
      a.push_back(s == 2 ? 0 : 1);
      b.push_back(i % 4 == 0 ? 1 : 0);
    }
  EXPECT_TRUE(paired_bootstrap(a, b, 1).resolved());
  EXPECT_FALSE(paired_bootstrap(a, b, 1, 2000, 3).resolved());
}

TEST(Stats, ContinuousMetrics) {
  EXPECT_DOUBLE_EQ(char_accuracy("1234", "1234"), 1.0);
  EXPECT_DOUBLE_EQ(char_accuracy("1239", "1234"), 0.75);
  EXPECT_DOUBLE_EQ(char_accuracy("", "12"), 0.0);
  EXPECT_DOUBLE_EQ(normalized_edit_distance("1234", "1234"), 0.0);
  EXPECT_DOUBLE_EQ(normalized_edit_distance("124", "1234"), 0.25);
}

// Generating and scoring in batches of each size reproduces the reference outputs (the
// same tokens) and scores.
void expect_batches_reproduce(Transformer& m, const Tokenizer& tok, const std::vector<std::string>& prompts,
                              const std::vector<std::string>& conts, GenerateOptions opts,
                              const std::vector<Completion>& reference, const std::vector<double>& reference_scores,
                              std::initializer_list<int> batches) {
  for (int b : batches) {
    opts.batch_size = b;
    auto out = generate(m, tok, prompts, opts);
    auto scores = score_continuations(m, tok, prompts, conts, b);
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(reference[i].ids, out[i].ids) << "prompt " << i << " batch " << b;
      EXPECT_EQ(reference[i].text, out[i].text) << "prompt " << i << " batch " << b;
      EXPECT_EQ(reference[i].tokens, out[i].tokens) << "prompt " << i << " batch " << b;
      EXPECT_NEAR(reference_scores[i], scores[i], 1e-4) << "prompt " << i << " batch " << b;
    }
  }
}

TEST(Generate, BatchSizeDoesNotChangeGreedyOutputsOrScores) {
  Transformer m(tiny_config(), 2);
  Tokenizer tok;  // the byte tokenizer
  auto prompts = random_prompts(13, 3);
  GenerateOptions opts;
  opts.max_new_tokens = 12;
  opts.stop = {"q"};
  opts.batch_size = 1;
  auto one = generate(m, tok, prompts, opts);
  std::vector<std::string> conts(prompts.size(), "xyz");
  auto score1 = score_continuations(m, tok, prompts, conts, 1);
  expect_batches_reproduce(m, tok, prompts, conts, opts, one, score1, {7, 64});
  opts.max_new_tokens = 90;
  EXPECT_THROW(generate(m, tok, prompts, opts), Error);  // cannot fit the context
}

// Few-shot prompts that share a long prefix (here 300 bytes, beyond kSharedPrefixMin)
// encode it once per call and copy it into each row after its padding: the same greedy
// continuations and the same scores as one prompt at a time (nothing shared), for
// suffixes of different lengths, in one batch or several, with grouped-query attention.
TEST(Generate, SharedFewShotPrefixIsEncodedOnceWithTheSameOutputs) {
  for (int kv_heads : {4, 2}) {
    auto cfg = testing::tiny_config(32, 2, 4, 64, 512, 0.3);
    cfg.n_kv_heads = kv_heads;
    Transformer m(cfg, 4);
    m->eval();
    Tokenizer tok;
    Rng rng(9);
    std::string shots;
    for (int i = 0; i < 300; ++i) shots += char('a' + rng.uniform_int(0, 25));
    std::vector<std::string> prompts, golds;
    for (int i = 0; i < 6; ++i) {
      prompts.push_back(shots + std::string(size_t(1 + 7 * i), char('a' + i)) + "=");
      golds.push_back(std::string(size_t(1 + i % 3), char('k' + i)));
    }
    GenerateOptions opts;
    opts.max_new_tokens = 10;
    std::vector<Completion> alone;
    std::vector<double> alone_scores;
    for (size_t i = 0; i < prompts.size(); ++i) {
      alone.push_back(generate(m, tok, {prompts[i]}, opts)[0]);
      alone_scores.push_back(score_continuations(m, tok, {prompts[i]}, {golds[i]}, 1)[0]);
    }
    expect_batches_reproduce(m, tok, prompts, golds, opts, alone, alone_scores, {6, 4});

    // Encoded once, counted: one batch of all six encodes the shared tokens once, each
    // row's own tail, and one position per row per new token. Encoding every prompt
    // whole would take at least the sum of their lengths.
    size_t shared = SIZE_MAX, longest = 0, all_prompts = 0, all_scored = 0;
    const auto first = tok.encode_prompt(prompts[0]);
    for (size_t i = 0; i < prompts.size(); ++i) {
      const auto ids = tok.encode_prompt(prompts[i]);
      shared = std::min(shared, size_t(std::mismatch(ids.begin(), ids.end(), first.begin(), first.end()).first - ids.begin()));
      longest = std::max(longest, ids.size());
      all_prompts += ids.size();
      all_scored += ids.size() + tok.encode(golds[i]).size();
    }
    ASSERT_GE(shared, 256u);
    opts.batch_size = 6;
    int64_t before = m->positions_encoded.value;
    generate(m, tok, prompts, opts);
    const int64_t generating = m->positions_encoded.value - before;
    EXPECT_LE(generating, int64_t(shared + 6 * (longest - shared) + 6 * size_t(opts.max_new_tokens)));
    EXPECT_LT(generating, int64_t(all_prompts));
    before = m->positions_encoded.value;
    score_continuations(m, tok, prompts, golds, 6);
    EXPECT_LT(m->positions_encoded.value - before, int64_t(all_scored) / 2) << "the exemplars were scored once per row";
  }
}

// A kept shared prefix (the server's, across batches of requests) is reused by a later
// call whose prompts all start with it, also a call of one prompt, and replaced by a call
// with other exemplars; the outputs are those of calls that keep nothing.
TEST(Generate, AKeptSharedPrefixIsReusedAcrossCallsWithTheSameOutputs) {
  Transformer m(testing::tiny_config(32, 2, 2, 64, 512, 0.3), 6);
  m->eval();
  Tokenizer tok;
  Rng rng(4);
  auto letters = [&](int n) {
    std::string t;
    for (int i = 0; i < n; ++i) t += char('a' + rng.uniform_int(0, 25));
    return t;
  };
  const std::string shots = letters(300), other_shots = letters(290);
  const std::vector<std::vector<std::string>> calls = {
      {shots + "xy=", shots + "pqrs="}, {shots + "k="}, {shots + "mn=", shots + "uvw="}, {other_shots + "a=", other_shots + "bc="}};
  GenerateOptions opts;
  opts.max_new_tokens = 8;
  SharedPrefix kept;
  for (size_t c = 0; c < calls.size(); ++c) {
    const void* before = kept.tokens.empty() ? nullptr : kept.cache.keys[0].data_ptr();
    auto with = generate(m, tok, calls[c], opts, &kept);
    auto without = generate(m, tok, calls[c], opts);
    for (size_t i = 0; i < with.size(); ++i) EXPECT_EQ(with[i].ids, without[i].ids) << "call " << c << " prompt " << i;
    const auto first = tok.encode_prompt(calls[c][0]);
    EXPECT_TRUE(std::equal(kept.tokens.begin(), kept.tokens.end(), first.begin())) << c;
    if (c == 1 || c == 2) EXPECT_EQ(kept.cache.keys[0].data_ptr(), before) << "call " << c << " encoded it again";
  }
  EXPECT_GE(kept.tokens.size(), 290u);  // the other exemplars replaced the first
}

// score_tokens with first positions scores only those tokens (NaN before them), and the
// scores it gives equal those of the whole rows.
TEST(Generate, ScoringFromAPositionEqualsScoringTheWholeRow) {
  Transformer m(testing::tiny_config(32, 2, 2, 64, 512, 0.3), 5);
  std::vector<std::vector<int32_t>> rows;
  Rng rng(3);
  std::vector<int32_t> shared;
  for (int i = 0; i < 280; ++i) shared.push_back(int32_t(rng.uniform_int(0, 255)));
  for (int i = 0; i < 3; ++i) {
    rows.push_back(shared);
    for (int j = 0; j < 5 + 4 * i; ++j) rows.back().push_back(int32_t(rng.uniform_int(0, 255)));
  }
  const std::vector<size_t> first = {282, 289, 281};  // row 1: nothing to score (289 tokens)
  auto whole = score_tokens(m, rows, 2, 8);
  auto part = score_tokens(m, rows, 2, 8, 1, ByteTokenizer::kPad, first);
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(part[i].logprob.size(), rows[i].size() - 1) << i;
    ASSERT_EQ(part[i].top.size(), rows[i].size() - 1) << i;
    for (size_t t = 1; t < rows[i].size(); ++t) {
      if (t < first[i]) {
        EXPECT_TRUE(std::isnan(part[i].logprob[t - 1])) << i << " " << t;
        continue;
      }
      EXPECT_NEAR(part[i].logprob[t - 1], whole[i].logprob[t - 1], 1e-4) << i << " " << t;
      EXPECT_EQ(part[i].top[t - 1][0].first, whole[i].top[t - 1][0].first);
    }
  }
}

// Workers split each batch and decode (or score) their parts side by side: the same
// greedy and sampled outputs, the same scores, also with more workers than prompts.
TEST(Generate, WorkersDoNotChangeOutputsOrScores) {
  Transformer m(tiny_config(), 2);
  Tokenizer tok;  // the byte tokenizer
  auto prompts = random_prompts(13, 3);
  std::vector<std::string> conts(prompts.size(), "xyz");
  GenerateOptions opts;
  opts.max_new_tokens = 12;
  opts.stop = {"q"};
  opts.batch_size = 16;
  auto one = generate(m, tok, prompts, opts);
  auto score1 = score_continuations(m, tok, prompts, conts, 16, 1);
  GenerateOptions sampled = opts;
  sampled.temperature = 1.0;
  sampled.num_samples = 2;
  sampled.seed = 9;
  auto sample1 = generate(m, tok, prompts, sampled);
  for (int workers : {2, 3, 40}) {
    opts.workers = sampled.workers = workers;
    auto many = generate(m, tok, prompts, opts);
    auto scores = score_continuations(m, tok, prompts, conts, 16, workers);
    auto samples = generate(m, tok, prompts, sampled);
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(one[i].text, many[i].text) << "prompt " << i << " workers " << workers;
      EXPECT_NEAR(score1[i], scores[i], 1e-4) << "prompt " << i << " workers " << workers;
    }
    for (size_t i = 0; i < samples.size(); ++i) EXPECT_EQ(sample1[i].text, samples[i].text) << i;
  }
}

TEST(Generate, ScoreMatchesAFullForwardPass) {
  Transformer m(tiny_config(), 6);
  Tokenizer tok;  // the byte tokenizer
  auto logp = torch::log_softmax(m->forward(torch::tensor({{256, 'a', 'b', 'c', 'd'}}, torch::kLong)), -1);
  double want = logp[0][2]['c'].item<double>() + logp[0][3]['d'].item<double>();
  auto got = score_continuations(m, tok, {"ab"}, {"cd"}, 4);
  EXPECT_NEAR(got[0], want, 1e-4);
}

TEST(Generate, SamplingIsReproducibleBySeedAndIndependentOfBatching) {
  Transformer m(tiny_config(), 4);
  Tokenizer tok;  // the byte tokenizer
  auto prompts = random_prompts(6, 9);
  GenerateOptions opts;
  opts.max_new_tokens = 10;
  opts.temperature = 1.0;
  opts.num_samples = 3;
  opts.seed = 42;
  opts.batch_size = 18;
  auto a = generate(m, tok, prompts, opts);
  auto b = generate(m, tok, prompts, opts);
  opts.batch_size = 3;  // one prompt (three samples) per batch
  auto c = generate(m, tok, prompts, opts);
  ASSERT_EQ(a.size(), 18u);
  std::set<std::string> distinct;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].text, b[i].text);
    EXPECT_EQ(a[i].text, c[i].text) << i;
    distinct.insert(a[i].text);
  }
  EXPECT_GT(distinct.size(), 9u);  // samples differ
  opts.seed = 43;
  auto d = generate(m, tok, prompts, opts);
  int same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i].text == d[i].text;
  EXPECT_LT(same, 18);
}

TEST(Generate, SharedPromptCacheGivesTheSameGreedyContinuations) {
  Transformer m(tiny_config(), 4);
  Tokenizer tok;  // the byte tokenizer
  auto prompts = random_prompts(5, 2);
  GenerateOptions opts;
  opts.max_new_tokens = 10;
  auto single = generate(m, tok, prompts, opts);
  opts.num_samples = 4;
  auto shared = generate(m, tok, prompts, opts);
  for (size_t i = 0; i < prompts.size(); ++i)
    for (size_t j = 0; j < 4; ++j) EXPECT_EQ(shared[i * 4 + j].text, single[i].text);
}

TEST(Generate, TopKOneAndTinyTopPAreGreedy) {
  Rng rng(1);
  std::vector<float> logits(260, 0.f);
  logits['x'] = 3.f;
  logits['y'] = 2.9f;
  logits[ByteTokenizer::kPad] = 10.f;  // never generated
  GenerateOptions greedy, topk, topp;
  topk.temperature = topp.temperature = 1.0;
  topk.top_k = 1;
  topp.top_p = 1e-6;
  EXPECT_EQ(choose_token(logits.data(), 260, greedy, rng), 'x');
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(choose_token(logits.data(), 260, topk, rng), 'x');
    EXPECT_EQ(choose_token(logits.data(), 260, topp, rng), 'x');
  }
}

}  // namespace elab

namespace elab {

// Outputs are raw bytes; the samples file must still be valid JSON.
TEST(Evaluate, OutputsThatAreNotUtf8StillMakeJson) {
  struct Garbage : Backend {
    std::string name() const override { return "garbage"; }
    std::vector<Completion> complete(const std::vector<std::string>& p, const GenerateOptions&) override {
      return std::vector<Completion>(p.size(), Completion{"\x8e\xff 12", 3, false});
    }
  } backend;
  auto task = make_task("add");
  EvalSpec spec;
  spec.n = 3;
  auto r = evaluate(backend, *task, "add", spec);
  const auto replace = nlohmann::ordered_json::error_handler_t::replace;
  EXPECT_NO_THROW(r.samples[0].dump(-1, ' ', false, replace));
  EXPECT_NE(r.samples[0].dump(-1, ' ', false, replace).find("12"), std::string::npos);
}

}  // namespace elab

namespace elab {
namespace {

// The reverse format (Lee et al. 2023): a model that writes sums least-significant digit
// first, trailing zeros included (120 as "021"), scores 1.0 under reverse:K, which reads
// its answer line back reversed, and only on palindromes under icl:K.
TEST(Evaluate, TheReverseFormatIsReadBackReversed) {
  auto task = make_task("add");
  ArithmeticOracle oracle;
  oracle.per_sample = [](long sum, int) {
    std::string s = std::to_string(sum);
    return " " + std::string(s.rbegin(), s.rend()) + "\n";
  };
  EvalSpec spec;
  spec.n = 60;
  spec.method = "reverse:2";
  auto r = evaluate(oracle, *task, "add", spec);
  EXPECT_EQ(r.summary.accuracy, 1.0);
  // Its exemplars show reversed answers too.
  const auto items = exemplars(*task, 2, spec.seed);
  const std::string first = items[0].answer;
  EXPECT_NE(oracle.seen[0].find("A: " + std::string(first.rbegin(), first.rend()) + "\n"), std::string::npos) << oracle.seen[0];
  spec.method = "icl:2";
  auto direct = evaluate(oracle, *task, "add", spec);
  int palindromes = 0;
  for (const auto& s : direct.samples) {
    const std::string g = s["gold"];
    palindromes += g == std::string(g.rbegin(), g.rend());
  }
  EXPECT_DOUBLE_EQ(direct.summary.accuracy, palindromes / 60.0);
  EXPECT_LT(direct.summary.accuracy, 0.5);
}

}  // namespace
}  // namespace elab
