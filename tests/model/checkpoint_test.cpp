#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "model/checkpoint.h"
#include "test_util.h"

namespace elab {

static ModelConfig small_config() { return testing::tiny_config(32, 2, 2, 48, 32); }
using testing::error_of;

TEST(Checkpoint, SaveLoadIsBitIdentical) {
  testing::TempDir dir;
  Transformer m(small_config(), 7);
  save_checkpoint(dir / "ck", m, {{"preset", "test"}});
  auto ck = load_checkpoint(dir / "ck");
  auto a = named_weights(*m), b = named_weights(*ck.model);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
  }
  EXPECT_EQ(ck.meta["preset"], "test");
  EXPECT_EQ(ck.config.to_hf_json(), m->config.to_hf_json());
  auto ids = torch::randint(0, 256, {2, 10}, torch::kLong);
  EXPECT_TRUE(torch::equal(m->forward(ids), ck.model->forward(ids)));
}

TEST(Checkpoint, ResaveKeepsOtherFilesAndLeavesNoStaging) {
  testing::TempDir dir;
  Transformer m(small_config(), 7);
  save_checkpoint(dir / "ck", m, {});
  write_file_atomic(dir / "ck" / "train_log.jsonl", "{\"step\":1}\n");
  save_checkpoint(dir / "ck", m, {{"steps", 2}}, {{"extra.json", "{}"}});
  EXPECT_EQ(read_file(dir / "ck" / "train_log.jsonl"), "{\"step\":1}\n");
  EXPECT_TRUE(fs::exists(dir / "ck" / "extra.json"));
  int entries = 0;
  for (auto& e : fs::directory_iterator(dir.path)) entries += 1, (void)e;
  EXPECT_EQ(entries, 1);  // no staging directory left behind
}

TEST(Checkpoint, SafetensorsRoundTripKeepsDtypeShapeAndMetadata) {
  std::vector<std::pair<std::string, torch::Tensor>> ts = {
      {"a", torch::arange(6, torch::kFloat).view({2, 3})},
      {"b", torch::tensor({1, 2, 3}, torch::kLong)},
      {"c", torch::zeros({0, 4})}};
  auto file = decode_safetensors(encode_safetensors(ts, {{"step", "5"}}), "mem");
  ASSERT_EQ(file.tensors.size(), 3u);
  for (size_t i = 0; i < ts.size(); ++i) {
    EXPECT_EQ(file.tensors[i].first, ts[i].first);
    EXPECT_TRUE(torch::equal(file.tensors[i].second, ts[i].second));
  }
  EXPECT_EQ(file.metadata.at("step"), "5");
}

TEST(Checkpoint, CorruptFilesAreErrorsNamingTheFileAndProblem) {
  testing::TempDir dir;
  Transformer m(small_config(), 7);
  auto ck = dir / "ck";
  save_checkpoint(ck, m, {});
  std::string weights = read_file(ck / "model.safetensors");
  std::string config = read_file(ck / "config.json");

  write_file_atomic(ck / "model.safetensors", weights.substr(0, weights.size() / 2));
  std::string msg = error_of([&] { load_checkpoint(ck); });
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;

  write_file_atomic(ck / "model.safetensors", weights.substr(0, 5));
  msg = error_of([&] { load_checkpoint(ck); });
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;

  write_file_atomic(ck / "model.safetensors", weights);
  std::string wider = config;
  wider.replace(wider.find("\"hidden_size\": 32"), 17, "\"hidden_size\": 64");
  write_file_atomic(ck / "config.json", wider);
  msg = error_of([&] { load_checkpoint(ck); });
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shape"), std::string::npos) << msg;

  write_file_atomic(ck / "config.json", "{\"hidden_size\": ");
  msg = error_of([&] { load_checkpoint(ck); });
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed JSON"), std::string::npos) << msg;

  write_file_atomic(ck / "config.json", "{\"hidden_size\": \"wide\"}");
  msg = error_of([&] { load_checkpoint(ck); });
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;

  write_file_atomic(ck / "config.json", config);
  fs::remove(ck / "tokenizer.json");
  msg = error_of([&] { load_checkpoint(ck); });
  EXPECT_NE(msg.find("tokenizer.json"), std::string::npos) << msg;

  msg = error_of([&] { load_checkpoint(dir / "nowhere"); });
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
}

TEST(Checkpoint, ConfigJsonRejectsNonsense) {
  ModelConfig c = small_config();
  auto good = c.to_hf_json();
  EXPECT_NO_THROW(ModelConfig::from_hf_json(good, "config.json"));
  auto bad = good;
  bad.replace(bad.find("\"num_attention_heads\": 2"), 24, "\"num_attention_heads\": 3");
  EXPECT_THROW(ModelConfig::from_hf_json(bad, "config.json"), Error);  // 32 not divisible by 3
  auto neg = good;
  neg.replace(neg.find("\"num_hidden_layers\": 2"), 22, "\"num_hidden_layers\": 0");
  EXPECT_THROW(ModelConfig::from_hf_json(neg, "config.json"), Error);
}

}  // namespace elab
