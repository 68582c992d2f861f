// Hugging Face checkpoint directories of every family elab reads, against transformers
// itself: tiny random-initialised models built and saved by transformers
// (tests/python/hf_tiny_models.py), their logits in elab within 1e-4; elab's saves read
// back by transformers; elab's LoRA adapters read by peft; and the bad directories.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "model/adapters.h"
#include "model/checkpoint.h"
#include "python_oracle.h"
#include "test_util.h"

namespace elab {
namespace {

using testing::error_of;
using testing::TempDir;

const char* kFamilies[] = {"llama", "llama-tied-linear", "mistral", "qwen2", "qwen2-bf16", "qwen3", "gemma3", "gpt_neox", "phi3"};

std::string tiny_models() { return testing::python_fixture("hf_tiny_models", "hf_tiny_models.py"); }

torch::Tensor tensor_from_json(const nlohmann::json& j) {
  std::vector<float> flat;
  std::vector<int64_t> shape = {int64_t(j.size()), int64_t(j[0].size()), int64_t(j[0][0].size())};
  for (const auto& row : j)
    for (const auto& pos : row)
      for (const auto& v : pos) flat.push_back(v.get<float>());
  return torch::tensor(flat).view(shape);
}

torch::Tensor ids_from_json(const nlohmann::json& j) {
  std::vector<int64_t> flat;
  for (const auto& row : j)
    for (const auto& v : row) flat.push_back(v.get<int64_t>());
  return torch::tensor(flat).view({int64_t(j.size()), int64_t(j[0].size())});
}

// transformers' logits for `dir` (and an adapter on it) on `ids`.
torch::Tensor transformers_logits(const fs::path& dir, const torch::Tensor& ids, const fs::path& adapter = {}) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t b = 0; b < ids.size(0); ++b) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t t = 0; t < ids.size(1); ++t) row.push_back(ids[b][t].item<int64_t>());
    rows.push_back(row);
  }
  std::string args = testing::shell_quote(dir.string()) + " " + testing::shell_quote(rows.dump());
  if (!adapter.empty()) args += " " + testing::shell_quote(adapter.string());
  return tensor_from_json(nlohmann::json::parse(testing::run_python("transformers_logits.py", args))["logits"]);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

class Family : public ::testing::TestWithParam<const char*> {};

TEST_P(Family, LogitsMatchTransformers) {
  const fs::path dir = fs::path(tiny_models()) / GetParam();
  const auto reference = nlohmann::json::parse(read_file(dir / "reference.json"));
  ModelConfig config;
  Transformer model = load_weights(dir, config);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto ids = ids_from_json(reference["ids"]);
  const auto expected = tensor_from_json(reference["logits"]);
  const auto logits = model->forward(ids);
  ASSERT_EQ(logits.sizes(), expected.sizes());
  EXPECT_LT(max_diff(logits, expected), 1e-4) << GetParam();
  if (std::getenv("ELAB_PRINT_DIFFS")) std::printf("%s: max |diff| %.3g\n", GetParam(), max_diff(logits, expected));

  // Decoding token by token through the KV cache computes the same function (the sliding
  // windows and per-layer RoPE tables included).
  auto cache = model->make_cache(ids.size(0), ids.size(1));
  std::vector<torch::Tensor> steps;
  steps.push_back(model->forward(ids.narrow(1, 0, 5), &cache));
  for (int64_t t = 5; t < ids.size(1); ++t) steps.push_back(model->forward(ids.narrow(1, t, 1), &cache));
  EXPECT_LT(max_diff(torch::cat(steps, 1), expected), 1e-4) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(HfFamilies, Family, ::testing::ValuesIn(kFamilies));

// A loaded family model saved by elab (as a full fine-tune is) reads back in
// transformers as the same model: the family's own config.json and tensor layout (GPT-NeoX
// re-fused, Gemma 3's norms, bf16 weights written as float32).
TEST(HfInterop, ElabSavesReadBackInTransformers) {
  for (const std::string family : {"gpt_neox", "gemma3", "qwen2-bf16", "phi3"}) {
    const fs::path dir = fs::path(tiny_models()) / family;
    const auto reference = nlohmann::json::parse(read_file(dir / "reference.json"));
    ModelConfig config;
    Transformer model = load_weights(dir, config);
    TempDir out;
    save_checkpoint(out / "saved", model, {{"note", "round trip"}});
    const auto ids = ids_from_json(reference["ids"]);
    EXPECT_LT(max_diff(transformers_logits(out / "saved", ids), tensor_from_json(reference["logits"])), 1e-4) << family;
    ModelConfig again;
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(load_weights(out / "saved", again)->forward(ids), model->forward(ids))) << family;
  }
}

// elab's own checkpoints claim Llama's names: transformers must compute the same logits.
TEST(HfInterop, TransformersLoadsElabCheckpoints) {
  auto c = testing::tiny_config(48, 2, 4, 96, 64, 0.2);
  c.n_kv_heads = 2;
  Transformer model(c, 11);
  model->eval();
  TempDir dir;
  save_checkpoint(dir / "own", model, {{"preset", "tiny"}});
  torch::manual_seed(3);
  const auto ids = torch::randint(0, c.vocab_size, {2, 17}, torch::kLong);
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_diff(transformers_logits(dir / "own", ids), model->forward(ids)), 1e-4);
}

// An elab LoRA adapter is PEFT's layout: peft loads it onto the same base and computes
// the same logits.
TEST(HfInterop, PeftLoadsElabLoraAdapters) {
  auto c = testing::tiny_config(48, 2, 4, 96, 64, 0.2);
  Transformer base(c, 5);
  TempDir dir;
  save_checkpoint(dir / "base", base, {});
  Checkpoint ck = load_checkpoint(dir / "base");
  LoraConfig lc;
  lc.rank = 4;
  lc.alpha = 8;
  lc.targets = parse_lora_targets("all");
  attach_lora(ck.model, lc, 1);
  {
    torch::NoGradGuard no_grad;
    torch::manual_seed(2);
    for (auto& [name, p] : lora_weights(ck.model))
      if (name.find("lora_B") != std::string::npos) p.normal_(0.0, 0.2);
  }
  ck.model->eval();
  save_adapter(dir / "lora", ck.model, dir / "base",
               {{"peft_type", "LORA"}, {"r", lc.rank}, {"lora_alpha", lc.alpha}, {"target_modules", lc.targets}}, {});
  torch::manual_seed(4);
  const auto ids = torch::randint(0, c.vocab_size, {2, 13}, torch::kLong);
  torch::NoGradGuard no_grad;
  const auto ours = ck.model->forward(ids);
  const auto base_logits = base->forward(ids);
  ASSERT_GT(max_diff(ours, base_logits), 1e-2);  // the adapter changes the function
  EXPECT_LT(max_diff(transformers_logits(dir / "base", ids, dir / "lora"), ours), 1e-4);
}

// elab writes only its own models' config.json; any other (here Llama 3's, without the
// transformers_version key a hand-written file may lack) is written back as it came, so
// a saved fine-tune keeps its RoPE scaling.
TEST(HfFamilies, ConfigsElabDoesNotWriteAreKeptAsTheyCame) {
  auto j = nlohmann::json::parse(read_file(fs::path(tiny_models()) / "llama" / "config.json"));
  j.erase("transformers_version");
  const auto c = ModelConfig::from_hf_json(j.dump(), "llama/config.json");
  EXPECT_FALSE(c.source_json.empty());
  EXPECT_EQ(ModelConfig::from_hf_json(c.to_hf_json(), "written").rope_scaling.type, "llama3");
  const auto own = ModelConfig::from_hf_json(find_preset("s").config.to_hf_json(), "own");
  EXPECT_TRUE(own.source_json.empty());
  EXPECT_EQ(own.to_hf_json(), find_preset("s").config.to_hf_json());
}

// --- Bad directories: one clear error each, no Python needed ----------------------

fs::path copy_family(const TempDir& tmp, const std::string& family) {
  fs::copy(fs::path(tiny_models()) / family, tmp / family);
  return tmp / family;
}

void edit_config(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  auto j = nlohmann::json::parse(read_file(dir / "config.json"));
  edit(j);
  write_file_atomic(dir / "config.json", j.dump(2));
}

// The parity above is not vacuous: the features it covers change the logits.
TEST(HfFamilies, TheSwitchedFeaturesMatter) {
  TempDir tmp;
  for (auto [family, key, value] : {std::tuple{"gemma3", "sliding_window", 64}, {"mistral", "sliding_window", 64},
                                    {"phi3", "sliding_window", 64},
                                    {"gpt_neox", "use_parallel_residual", 0}, {"qwen3", "head_dim", 16}}) {
    auto dir = copy_family(tmp, family);
    edit_config(dir, [&, key = key, value = value](auto& j) {
      if (std::string(key) == "use_parallel_residual") j[key] = false;
      else j[key] = value;
    });
    const auto reference = nlohmann::json::parse(read_file(dir / "reference.json"));
    ModelConfig c;
    torch::NoGradGuard no_grad;
    if (std::string(key) == "head_dim") {  // the shapes no longer fit: refused, not misread
      EXPECT_NE(error_of([&] { load_weights(dir, c); }).find("has shape"), std::string::npos);
      continue;
    }
    auto logits = load_weights(dir, c)->forward(ids_from_json(reference["ids"]));
    EXPECT_GT(max_diff(logits, tensor_from_json(reference["logits"])), 1e-3) << family << " " << key;
  }
}

TEST(HfBadInput, EachProblemIsNamed) {
  TempDir tmp;
  ModelConfig c;
  auto neox = copy_family(tmp, "gpt_neox");  // sharded
  fs::remove(neox / "model-00002-of-00005.safetensors");
  EXPECT_NE(error_of([&] { load_weights(neox, c); }).find("shard model-00002-of-00005.safetensors"), std::string::npos);

  auto qwen = copy_family(tmp, "qwen3");
  edit_config(qwen, [](auto& j) { j["model_type"] = "mamba"; });
  EXPECT_NE(error_of([&] { load_weights(qwen, c); }).find("model_type 'mamba' is not supported"), std::string::npos);
  edit_config(qwen, [](auto& j) {
    j["model_type"] = "qwen3";
    j["rope_parameters"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  });
  EXPECT_NE(error_of([&] { load_weights(qwen, c); }).find("rope_type 'yarn' is not supported"), std::string::npos);
  edit_config(qwen, [](auto& j) {
    j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};
    j["intermediate_size"] = 100;
  });
  EXPECT_NE(error_of([&] { load_weights(qwen, c); }).find("mlp.gate_proj.weight' has shape [96, 64] but config.json implies [100, 64]"),
            std::string::npos);
  edit_config(qwen, [](auto& j) {
    j["intermediate_size"] = 96;
    j["use_sliding_window"] = true;
  });
  EXPECT_NE(error_of([&] { load_weights(qwen, c); }).find("use_sliding_window"), std::string::npos);

  auto gemma = copy_family(tmp, "gemma3");
  edit_config(gemma, [](auto& j) { j["final_logit_softcapping"] = 30.0; });
  EXPECT_NE(error_of([&] { load_weights(gemma, c); }).find("final_logit_softcapping"), std::string::npos);
  edit_config(gemma, [](auto& j) {
    j["final_logit_softcapping"] = nullptr;
    j["hidden_activation"] = "relu2";
  });
  EXPECT_NE(error_of([&] { load_weights(gemma, c); }).find("hidden_activation 'relu2' is not supported"),
            std::string::npos);
}

}  // namespace
}  // namespace elab
