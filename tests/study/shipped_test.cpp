// Shipped bases (study/shipped.h): the repository's ladder loads and reproduces its
// recorded metrics; a changed file is refused with how to retrain; a study whose plan no
// shipped base matches is refused before anything runs.
#include <gtest/gtest.h>

#include <fstream>

#include "core/fs.h"
#include "model/adapters.h"
#include "model/checkpoint.h"
#include "study/plan.h"
#include "study/run.h"
#include "study/shipped.h"
#include "test_util.h"

namespace elab {
namespace {

using testing::error_of;
using testing::TempDir;

// The CI check of the shipped ladder: every base's content hash and its check metrics
// (accuracy within one item of n, gold log-probability within 1e-3), recomputed here.
TEST(Shipped, EveryShippedBaseReproducesItsRecordedMetrics) {
  const std::string dir = std::string(ELAB_REPO_DIR) + "/models/ladder";
  const auto bases = read_shipped(dir);
  ASSERT_GE(bases.size(), 6u) << "the ladder: 3 presets x 2 recipes";
  for (const auto& b : bases) {
    EXPECT_FALSE(b.checks.empty()) << b.name;
    EXPECT_NE(b.command.find("elab train --preset"), std::string::npos) << b.name;
    const auto problems = verify_shipped(b);
    for (const auto& p : problems) ADD_FAILURE() << p;
  }
  // The quickstart's plan is what the ladder records: every pre-training job has its base.
  const auto spec = load_study(std::string(ELAB_REPO_DIR) + "/studies/quickstart.toml");
  EXPECT_EQ(fs::path(spec.shipped).lexically_normal(), fs::path(dir).lexically_normal());
  std::set<std::string> keys;
  for (const auto& b : bases) keys.insert(b.key);
  for (const auto& j : plan_study(spec).jobs)
    if (j.kind() == "pretrain") EXPECT_TRUE(keys.count(j.key)) << base_label(j.spec) << " has no shipped base";
}

TEST(Shipped, AChangedFileIsRefusedAndAnUnmatchedPlanTooBeforeAnythingRuns) {
  TempDir tmp;
  const fs::path ladder = tmp.path / "ladder";
  Transformer model(testing::tiny_config(), 1);
  save_checkpoint(ladder / "b1", model, nlohmann::json{{"data_hash", "abc"}});
  const std::string hash = checkpoint_hash(ladder / "b1");
  write_file_atomic(ladder / "index.json",
                    nlohmann::json({{"bases", {{{"name", "b1"}, {"key", "k1"}, {"content_hash", hash},
                                                {"outcome", {{"steps", 3}, {"tokens", 30}, {"parameters", 7}}}}}}})
                        .dump());
  auto bases = read_shipped(ladder.string());
  ASSERT_EQ(bases.size(), 1u);
  const auto out = install_shipped(bases[0], (tmp.path / "study" / "models" / "k1").string());
  EXPECT_EQ(out.parameters, 7);
  EXPECT_EQ(checkpoint_hash(tmp.path / "study" / "models" / "k1"), hash);
  EXPECT_FALSE(fs::exists(tmp.path / "study" / "models" / "k1.installing"));
  // One byte changed: refused, naming the base and how to retrain.
  {
    std::fstream f(ladder / "b1" / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  const std::string e = error_of([&] { install_shipped(bases[0], (tmp.path / "other").string()); });
  EXPECT_NE(e.find("shipped base b1: its content hash"), std::string::npos) << e;
  EXPECT_NE(e.find("--from-scratch"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(tmp.path / "other"));
  // A malformed index names the file.
  fs::create_directories(tmp.path / "bad");
  write_file_atomic(tmp.path / "bad" / "index.json", "{\"bases\": [{\"name\": \"../x\"}]}");
  EXPECT_NE(error_of([&] { read_shipped((tmp.path / "bad").string()); }).find("bases[0]"), std::string::npos);

  // A study whose pre-training jobs no shipped base matches is refused before it runs
  // (when it requires shipped bases, as the quickstart does).
  const std::string study = "[study]\nname = \"t\"\ndir = \"" + (tmp.path / "s").string() +
                            "\"\n[pretrain]\npresets = [\"xs\"]\nrecipes = [\"base\"]\ntokens = 1000\nshipped = \"ladder\"\n"
                            "[[evaluate]]\ntasks = [\"add\"]\nsplits = [\"id\"]\nmethods = [\"direct\"]\nn = 5\n";
  write_file_atomic(tmp.path / "t.toml", study);
  const auto spec = load_study((tmp.path / "t.toml").string());
  EXPECT_EQ(fs::path(spec.shipped), ladder);
  StudyRunOptions strict;
  strict.require_shipped = true;  // as the quickstart runs
  const std::string refused = error_of([&] { run_study(spec, strict); });
  EXPECT_NE(refused.find("no shipped base in"), std::string::npos) << refused;
  EXPECT_NE(refused.find("--from-scratch"), std::string::npos) << refused;
  EXPECT_FALSE(fs::exists(tmp.path / "s" / "models")) << "nothing ran";
}

}  // namespace
}  // namespace elab
