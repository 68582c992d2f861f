// LoRA and prefix-tuning adapters: identities at initialisation, merge equivalence,
// cached decoding with a prefix, and adapter directories (round trip, base checks).
#include <gtest/gtest.h>

#include "core/fs.h"
#include "core/sha256.h"
#include "model/adapters.h"
#include "test_util.h"

namespace elab {
namespace {

using testing::error_of;
using testing::TempDir;
using testing::tiny_config;

torch::Tensor random_ids(int64_t B, int64_t T, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randint(0, 256, {B, T}, torch::kLong);
}

// A base whose outputs depend strongly on every weight (large init).
Transformer make_base(int kv_heads = 2) {
  auto c = tiny_config(32, 2, 4, 64, 64, 0.2);
  c.n_kv_heads = kv_heads;
  Transformer m(c, 7);
  m->eval();
  return m;
}

void randomise_lora_B(Transformer& m, uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (auto& [name, p] : lora_weights(m))
    if (name.find("lora_B") != std::string::npos) p.normal_(0.0, 0.2);
}

TEST(Lora, ZeroBGivesExactlyTheBaseOutputs) {
  auto m = make_base();
  auto ids = random_ids(2, 12, 1);
  torch::NoGradGuard no_grad;
  auto before = m->forward(ids);
  LoraConfig c;
  c.targets = parse_lora_targets("all");
  attach_lora(m, c, 3);
  EXPECT_EQ(lora_weights(m).size(), 2u * 7u * 2u);  // A and B, 7 projections, 2 layers
  EXPECT_TRUE(torch::equal(before, m->forward(ids)));
}

TEST(Lora, MergedAndUnmergedGiveTheSameLogits) {
  for (const char* targets : {"q,v", "all"}) {
    auto m = make_base(/*kv_heads=*/2);
    LoraConfig c;
    c.rank = 4;
    c.alpha = 8;
    c.targets = parse_lora_targets(targets);
    attach_lora(m, c, 3);
    randomise_lora_B(m, 5);
    auto ids = random_ids(3, 16, 2);
    torch::NoGradGuard no_grad;
    auto unmerged = m->forward(ids);
    EXPECT_GT((unmerged - make_base()->forward(ids)).abs().max().item<float>(), 1e-2) << "the adapter changes nothing";
    merge_lora(m);
    EXPECT_TRUE(lora_weights(m).empty());
    auto merged = m->forward(ids);
    EXPECT_LT((merged - unmerged).abs().max().item<float>(), 1e-4) << targets;
  }
}

TEST(Lora, TargetsAndSettingsAreChecked) {
  EXPECT_EQ(parse_lora_targets("q,v"), (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_NE(error_of([] { parse_lora_targets("q,x"); }).find("unknown projection 'x_proj'"), std::string::npos);
  auto m = make_base();
  LoraConfig c;
  c.rank = 0;
  EXPECT_NE(error_of([&] { attach_lora(m, c, 1); }).find("rank must be positive"), std::string::npos);
  EXPECT_NE(error_of([&] { merge_lora(m); }).find("no LoRA adapter"), std::string::npos);
}

TEST(Prefix, LengthZeroEqualsTheBase) {
  auto m = make_base();
  auto ids = random_ids(2, 10, 3);
  torch::NoGradGuard no_grad;
  auto before = m->forward(ids);
  const auto& c = m->config;
  m->set_prefix(torch::randn({c.n_layers, 2, c.n_kv_heads, 0, c.head_dim()}));
  EXPECT_FALSE(m->has_prefix());
  EXPECT_TRUE(torch::equal(before, m->forward(ids)));
}

// Decoding one token at a time from the cache, with a left-padded row, gives the full
// forward pass's logits when a prefix is present.
TEST(Prefix, CachedDecodeMatchesFullForward) {
  for (int kv_heads : {4, 2}) {
    auto m = make_base(kv_heads);
    const auto& c = m->config;
    torch::manual_seed(9);
    m->set_prefix(torch::randn({c.n_layers, 2, c.n_kv_heads, 5, c.head_dim()}));
    ASSERT_TRUE(m->has_prefix());
    torch::NoGradGuard no_grad;
    auto ids = random_ids(1, 14, 4);
    auto full = m->forward(ids);
    auto cache = m->make_cache(1, 14);
    auto first = m->forward(ids.narrow(1, 0, 6), &cache);
    EXPECT_LT((first - full.narrow(1, 0, 6)).abs().max().item<float>(), 1e-4);
    for (int64_t t = 6; t < 14; ++t) {
      auto step = m->forward(ids.narrow(1, t, 1), &cache);
      EXPECT_LT((step.squeeze(1) - full.select(1, t)).abs().max().item<float>(), 1e-4) << "position " << t;
    }
    // A left-padded batch row equals the row alone.
    auto padded = torch::cat({torch::zeros({1, 3}, torch::kLong), ids.narrow(1, 0, 8)}, 1);
    auto pad_cache = m->make_cache(1, 11, torch::tensor({3}, torch::kLong));
    auto out = m->forward(padded, &pad_cache).narrow(1, 3, 8);
    EXPECT_LT((out - full.narrow(1, 0, 8)).abs().max().item<float>(), 1e-4);
  }
}

TEST(Prefix, EncoderTrainsAndFreezes) {
  auto m = make_base();
  PrefixConfig pc;
  pc.length = 4;
  attach_prefix_encoder(m, pc, 11);
  EXPECT_TRUE(m->has_prefix());
  auto ids = random_ids(2, 8, 5);
  auto with_encoder = m->forward(ids);
  with_encoder.sum().backward();
  EXPECT_TRUE(m->prefix_encoder->embedding.grad().defined());
  freeze_prefix(m);
  EXPECT_FALSE(m->prefix_encoder);
  for (const auto& [name, p] : named_weights(*m)) EXPECT_EQ(name.find("prefix_encoder"), std::string::npos);
  torch::NoGradGuard no_grad;
  EXPECT_LT((m->forward(ids) - with_encoder).abs().max().item<float>(), 1e-5);
  PrefixConfig too_long;
  too_long.length = m->config.max_seq_len;
  EXPECT_NE(error_of([&] { attach_prefix_encoder(m, too_long, 1); }).find("prefix length must be between"),
            std::string::npos);
}

TEST(AdapterDir, RoundTripsAndChecksItsBase) {
  TempDir dir;
  auto base = make_base();
  save_checkpoint(dir / "base", base, {{"preset", "tiny"}});
  auto ids = random_ids(2, 9, 6);
  torch::NoGradGuard no_grad;

  // LoRA
  Checkpoint lora = load_checkpoint(dir / "base");
  LoraConfig lc;
  lc.rank = 2;
  attach_lora(lora.model, lc, 1);
  randomise_lora_B(lora.model, 2);
  lora.model->eval();
  auto lora_logits = lora.model->forward(ids);
  nlohmann::json cfg = {{"peft_type", "LORA"}, {"r", 2}, {"lora_alpha", lc.alpha}, {"target_modules", lc.targets}};
  save_adapter(dir / "lora", lora.model, dir / "base", cfg, {{"note", "x"}});
  EXPECT_EQ(adapter_type(dir / "lora"), "lora");
  EXPECT_FALSE(fs::exists(dir / "lora" / "model.safetensors"));  // only adapter tensors are written
  Checkpoint loaded = load_model_dir(dir / "lora");
  EXPECT_TRUE(torch::equal(loaded.model->forward(ids), lora_logits));
  EXPECT_EQ(loaded.meta["note"], "x");

  // prefix
  Checkpoint pre = load_checkpoint(dir / "base");
  const auto& c = pre.config;
  pre.model->set_prefix(torch::randn({c.n_layers, 2, c.n_kv_heads, 3, c.head_dim()}));
  auto prefix_logits = pre.model->forward(ids);
  save_adapter(dir / "prefix", pre.model, dir / "base", {{"peft_type", "PREFIX_TUNING"}, {"num_virtual_tokens", 3}}, {});
  EXPECT_TRUE(torch::equal(load_model_dir(dir / "prefix").model->forward(ids), prefix_logits));

  // Base and adapter copied elsewhere together (a study folder moved): found by relative path.
  TempDir other;
  fs::copy(dir / "base", other / "base");
  fs::copy(dir / "lora", other / "lora");
  fs::remove_all(dir / "base");
  EXPECT_TRUE(torch::equal(load_model_dir(other / "lora").model->forward(ids), lora_logits));

  // Missing base, changed base, corrupt adapter.
  EXPECT_NE(error_of([&] { load_model_dir(dir / "lora"); }).find("base model"), std::string::npos);
  save_checkpoint(other / "base", base, {{"preset", "tiny"}, {"changed", true}});  // same weights, other meta: fine
  EXPECT_NO_THROW(load_model_dir(other / "lora"));
  {
    auto changed = make_base();
    changed->model->norm->weight.add_(1.0);
    save_checkpoint(other / "base", changed, {});
  }
  EXPECT_NE(error_of([&] { load_model_dir(other / "lora"); }).find("has changed since the adapter was trained"),
            std::string::npos);
  write_file_atomic(other / "lora" / "adapter_config.json", "{\"peft_type\": \"IA3\"}");
  EXPECT_NE(error_of([&] { load_model_dir(other / "lora"); }).find("unknown peft_type 'IA3'"), std::string::npos);
}

}  // namespace
}  // namespace elab

namespace elab {
namespace {
// Training fuses the q/k/v and gate/up products; an adapter forces the separate path.
// Both must give the same loss and the same gradients.
// A model's content hash is SHA-256 of its config then its weights, what `sha256sum` of
// the two files one after the other gives (here a shipped base, whose index records it);
// the FNV-1a that earlier adapters recorded still matches, and a changed byte does not.
TEST(AdapterDir, ContentHashIsSha256OfTheFilesAndOldFnvHashesStillMatch) {
  const fs::path base = fs::path(ELAB_REPO_DIR) / "models/ladder/m-ladder-iid-s1";
  const std::string sha = sha256_of_files({base / "config.json", base / "model.safetensors"});
  EXPECT_EQ(checkpoint_hash(base), sha);
  EXPECT_EQ(sha.size(), 64u);
  const std::string index = read_file((base.parent_path() / "index.json").string());
  EXPECT_NE(index.find(sha), std::string::npos) << "models/ladder/index.json records another hash";
  EXPECT_TRUE(checkpoint_hash_matches(base, sha));
  EXPECT_TRUE(checkpoint_hash_matches(base, "0b3020e40651a8cb"));  // its FNV-1a, recorded before SHA-256
  EXPECT_FALSE(checkpoint_hash_matches(base, "0b3020e40651a8cc"));

  testing::TempDir dir;
  fs::copy(base, dir / "copy");
  EXPECT_EQ(checkpoint_hash(dir / "copy"), sha);
  std::string config = read_file((dir / "copy" / "config.json").string());
  config.back() = config.back() == ' ' ? '\n' : ' ';
  write_file_atomic(dir / "copy" / "config.json", config);
  EXPECT_NE(checkpoint_hash(dir / "copy"), sha) << "a changed file kept the cached hash";
}

TEST(Transformer, FusedTrainingPathMatchesSeparateProjections) {
  auto ids = random_ids(2, 12, 7);
  auto fused = make_base(/*kv_heads=*/2);
  auto separate = make_base(/*kv_heads=*/2);
  LoraConfig c;
  c.targets = parse_lora_targets("all");
  attach_lora(separate, c, 3);  // B = 0: the same function, computed projection by projection
  auto lf = fused->forward(ids).logsumexp(-1).sum();
  auto ls = separate->forward(ids).logsumexp(-1).sum();
  EXPECT_NEAR(lf.item<float>(), ls.item<float>(), 1e-3);
  lf.backward();
  ls.backward();
  auto a = named_weights(*fused);
  std::map<std::string, torch::Tensor> b;
  for (auto& [n, p] : named_weights(*separate)) b[n] = p;
  for (auto& [n, p] : a) {
    ASSERT_TRUE(b.count(n)) << n;
    ASSERT_TRUE(p.grad().defined()) << n;
    EXPECT_LT((p.grad() - b[n].grad()).abs().max().item<float>(), 1e-3) << n;
  }
}
}  // namespace
}  // namespace elab
