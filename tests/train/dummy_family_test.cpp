// Adding a model family is one file and one line (docs/ARCHITECTURE.md, "Adding one").
// This file is that file for a family of its own: a config key of its own, its own
// tensor names and a tensor stored in another layout, registered at run time (the one
// line, for a built-in family, is in model_families()). It loads, saves in its own
// layout, reads back, and fine-tunes like the built-in ones.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/adapters.h"
#include "model/checkpoint.h"
#include "model/config_reader.h"
#include "model/family.h"
#include "model/safetensors.h"
#include "tasks/example_stream.h"
#include "tasks/registry.h"
#include "test_util.h"
#include "train/finetune.h"

namespace elab {
namespace {

// "toy.blocks.N.<module>" for "model.layers.N.<module>", "toy.embed" for the embedding,
// and each output projection stored transposed.
NamedTensors toy_to_elab(const ModelConfig&, NamedTensors tensors, const std::string&) {
  for (auto& [name, t] : tensors) {
    swap_prefix(name, "toy.blocks.", "model.layers.") || swap_prefix(name, "toy.embed.", "model.embed_tokens.") ||
        swap_prefix(name, "toy.", "model.");
    if (name.find("self_attn.o_proj.weight") != std::string::npos) t = t.t().contiguous();
  }
  return tensors;
}

NamedTensors elab_to_toy(const ModelConfig&, NamedTensors tensors) {
  for (auto& [name, t] : tensors) {
    if (name.find("self_attn.o_proj.weight") != std::string::npos) t = t.t().contiguous();
    swap_prefix(name, "model.layers.", "toy.blocks.") || swap_prefix(name, "model.embed_tokens.", "toy.embed.") ||
        swap_prefix(name, "model.", "toy.");
  }
  return tensors;
}

ModelFamily toy_family() {
  ModelFamily f;
  f.name = "toy";
  f.models = "this test's";
  f.defaults = [](ModelConfig& c) { c.tie_embeddings = true; };
  f.read = [](const ConfigReader& r, ModelConfig& c) { r.number("toy_norm_eps", c.norm_eps); };
  f.from_checkpoint = toy_to_elab;
  f.to_checkpoint = elab_to_toy;
  return f;
}

torch::Tensor logits_of(Transformer& m, const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  m->eval();
  return m->forward(ids);
}

TEST(ModelFamilies, AFamilyRegisteredInOneFileLoadsSavesAndFineTunes) {
  register_family(toy_family());
  EXPECT_NE(testing::error_of([] { register_family(toy_family()); }).find("already registered"), std::string::npos);

  auto c = testing::tiny_config(32, 2, 2, 64, 128, 0.1);
  c.norm_eps = 1e-3;  // not the default, so that reading toy_norm_eps is seen
  Transformer original(c, 5);
  original->config.family = "toy";
  original->config.source_json = nlohmann::json({{"model_type", "toy"},
                                                 {"vocab_size", c.vocab_size},
                                                 {"hidden_size", c.d_model},
                                                 {"intermediate_size", c.ffn_hidden},
                                                 {"num_hidden_layers", c.n_layers},
                                                 {"num_attention_heads", c.n_heads},
                                                 {"max_position_embeddings", c.max_seq_len},
                                                 {"toy_norm_eps", c.norm_eps}})
                                     .dump();
  testing::TempDir dir;
  save_checkpoint(dir / "toy", original, nlohmann::json::object());
  const auto file = read_safetensors((dir / "toy" / "model.safetensors").string());
  ASSERT_NE(file.find("toy.blocks.0.self_attn.o_proj.weight"), nullptr) << "saved in another layout than the family's";
  EXPECT_EQ(file.find("model.layers.0.self_attn.o_proj.weight"), nullptr);

  Checkpoint loaded = load_checkpoint(dir / "toy");
  EXPECT_EQ(loaded.config.family, "toy");
  EXPECT_DOUBLE_EQ(loaded.config.norm_eps, 1e-3);
  EXPECT_TRUE(loaded.config.tie_embeddings);
  const auto ids = torch::randint(0, 256, {2, 24}, torch::kLong);
  EXPECT_TRUE(torch::allclose(logits_of(loaded.model, ids), logits_of(original, ids), 1e-5, 1e-6));

  // Fine-tuned (LoRA merged into the weights, then a full step), saved, read back.
  auto task = make_task("lastletter");
  std::vector<Example> examples;
  for (int i = 0; i < 8; ++i) examples.push_back(task->example("id", Pool::exemplar, 5, i));
  ExampleStream train(examples, Format::direct, "", Tokenizer(), 2, true);
  for (const char* method : {"lora", "full"}) {
    FinetuneConfig cfg;
    cfg.method = method;
    cfg.steps = 4;
    cfg.batch_size = 4;
    cfg.lr = 1e-2;
    cfg.seq_len = train.longest() - 1;
    auto trainable = prepare_finetune(loaded.model, cfg);
    const auto r = finetune(loaded.model, trainable, train, &train, train.size(), cfg, method);
    EXPECT_LT(r.best_val_loss, r.first_val_loss) << method << " did not learn on the family's model";
    if (std::string(method) == "lora") merge_lora(loaded.model);
  }
  EXPECT_FALSE(torch::allclose(logits_of(loaded.model, ids), logits_of(original, ids), 1e-3, 1e-3));
  save_checkpoint(dir / "tuned", loaded.model, nlohmann::json::object());
  Checkpoint tuned = load_checkpoint(dir / "tuned");
  EXPECT_EQ(tuned.config.family, "toy");
  EXPECT_TRUE(torch::allclose(logits_of(tuned.model, ids), logits_of(loaded.model, ids), 1e-5, 1e-6));
}

}  // namespace
}  // namespace elab
