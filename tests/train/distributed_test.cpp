// Data-parallel training on loopback: two worker processes (this test binary started
// again with torchrun's variables) must produce the one-process gradient and the
// one-process training steps for the same global batch.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/fs.h"
#include "core/rng.h"
#include "model/safetensors.h"
#include "tasks/example_stream.h"
#include "tasks/recipe.h"
#include "tasks/registry.h"
#include "test_util.h"
#include "train/distributed.h"
#include "train/trainer.h"

extern char** environ;

namespace elab {
namespace {

constexpr int64_t kBatch = 8, kSeqLen = 48, kSteps = 3;

Transformer worker_model() {
  auto c = testing::tiny_config(32, 2, 2, 64, 64);
  return Transformer(c, 7);
}

RecipeStream worker_data() { return RecipeStream(find_recipe("add"), 11, Pool::train); }

TrainConfig worker_config() {
  TrainConfig cfg;
  cfg.batch_size = kBatch;
  cfg.seq_len = kSeqLen;
  return cfg;
}

std::vector<std::pair<std::string, torch::Tensor>> gradients_of(Transformer& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& [name, p] : named_weights(*model)) out.emplace_back(name, p.grad().clone());
  return out;
}

// The gradient of the whole batch and the weights after kSteps steps, on one process
// or (with dist) on this rank's rows.
// "losses" (one per step) is appended to weights.
void gradient_and_steps(DataParallel* dist, std::vector<std::pair<std::string, torch::Tensor>>& grads,
                        std::vector<std::pair<std::string, torch::Tensor>>& weights) {
  std::vector<double> losses;
  Transformer model = worker_model();
  auto data = worker_data();
  TrainConfig cfg = worker_config();
  AdamW optimizer(named_weights(*model), cfg.adamw);
  const RowShare share = rank_rows(kBatch, 1, dist);
  TokenBatch batch;
  for (int64_t step = 0; step < kSteps; ++step) {
    data.read_rows(step, kBatch, share.first, share.count, kSeqLen, batch);
    if (step == 0) {
      // The gradient alone: train_step would also apply it, so take it before the update.
      cfg.grad_clip = 0;
      optimizer.zero_grad();
      double targets = 0;
      for (uint8_t m : batch.loss_mask) targets += m;
      if (dist) {
        auto t = torch::tensor({targets}, torch::kDouble);
        dist->sum(t);
        targets = t.item<double>();
      }
      batch_loss(model, batch, 0, batch.rows, targets).backward();
      if (dist) dist->sum_gradients(optimizer.parameters());
      grads = gradients_of(model);
      cfg.grad_clip = 1.0;
    }
    losses.push_back(train_step(model, optimizer, batch, cfg, 1e-2, dist).loss);
  }
  weights.clear();
  for (auto& [name, p] : named_weights(*model)) weights.emplace_back(name, p.detach().clone());
  weights.emplace_back("losses", torch::tensor(losses, torch::kDouble));
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Starts `world` copies of this binary running the worker test; returns their exit codes
// (-1 for one that had to be killed after `timeout`).
std::vector<int> run_workers(int world, const fs::path& out, std::chrono::seconds timeout) {
  const int port = free_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    for (std::string kv : {fmt::format("WORLD_SIZE={}", world), fmt::format("RANK={}", r),
                           fmt::format("LOCAL_RANK={}", r), fmt::format("LOCAL_WORLD_SIZE={}", world),
                           std::string("MASTER_ADDR=127.0.0.1"), fmt::format("MASTER_PORT={}", port),
                           "ELAB_TEST_DIST_OUT=" + out.string()})
      env.push_back(kv);
    std::vector<std::string> args = {"/proc/self/exe"};  // tests/train/main.cpp: the worker, not the tests
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data()), 0);
    pids.push_back(pid);
  }
  std::vector<int> codes(size_t(world), -1);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int r = 0; r < world; ++r) {
    int status = 0;
    while (::waitpid(pids[size_t(r)], &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pids[size_t(r)], SIGKILL);
        ::waitpid(pids[size_t(r)], &status, 0);
        status = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    codes[size_t(r)] = status == -1 ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

double max_relative_difference(const TensorFile& got, const std::vector<std::pair<std::string, torch::Tensor>>& want) {
  double worst = 0;
  for (const auto& [name, w] : want) {
    const torch::Tensor* g = got.find(name);
    EXPECT_NE(g, nullptr) << name;
    if (g == nullptr) continue;
    const double scale = std::max(1e-6, w.abs().max().item<double>());
    worst = std::max(worst, (*g - w).abs().max().item<double>() / scale);
  }
  return worst;
}

TEST(Distributed, TwoRanksEqualOneProcess) {
  testing::TempDir dir;
  auto codes = run_workers(2, dir.path, std::chrono::seconds(120));
  ASSERT_EQ(codes, (std::vector<int>{0, 0})) << "a worker failed or hung";

  std::vector<std::pair<std::string, torch::Tensor>> grads, weights;
  gradient_and_steps(nullptr, grads, weights);
  auto grad0 = read_safetensors((dir / "grad0.safetensors").string());
  auto grad1 = read_safetensors((dir / "grad1.safetensors").string());
  // The all-reduced gradient is the gradient of the whole batch (up to summation order)...
  EXPECT_LT(max_relative_difference(grad0, grads), 1e-5);
  // ...and identical on both ranks, so their updates cannot drift apart.
  for (const auto& [name, g] : grad0.tensors) EXPECT_TRUE(torch::equal(g, *grad1.find(name))) << name;
  // Three AdamW steps with clipping on two ranks are three steps on one process: the
  // same loss at each step within 1e-5 relative. (Adam's first steps divide by |g|, so
  // weights whose gradient is near 0 amplify summation-order noise; hence 1e-3 there.)
  auto w0 = read_safetensors((dir / "weights0.safetensors").string());
  auto w1 = read_safetensors((dir / "weights1.safetensors").string());
  const torch::Tensor want_losses = weights.back().second, got_losses = *w0.find("losses");
  for (int64_t i = 0; i < kSteps; ++i)
    EXPECT_NEAR(got_losses[i].item<double>(), want_losses[i].item<double>(), 1e-5 * want_losses[i].item<double>());
  EXPECT_GT(want_losses[0].item<double>() - want_losses[kSteps - 1].item<double>(), 0.01);  // it trains
  EXPECT_LT(max_relative_difference(w0, weights), 1e-3);
  for (const auto& [name, w] : w0.tensors) EXPECT_TRUE(torch::equal(w, *w1.find(name))) << name;
  // Not vacuous: one rank's rows alone give another gradient.
  auto data = worker_data();
  TokenBatch half;
  data.read_rows(0, kBatch, 0, kBatch / 2, kSeqLen, half);
  Transformer model = worker_model();
  batch_loss(model, half, 0, half.rows, 100.0).backward();
  auto partial = gradients_of(model);
  EXPECT_GT(max_relative_difference(grad0, partial), 1e-2);
}

TEST(Distributed, RowsOfABatchAreTheWholeBatch) {
  auto recipe = worker_data();
  auto task = make_task("lastletter");
  std::vector<Example> examples;
  for (int i = 0; i < 5; ++i) examples.push_back(task->example("id", Pool::exemplar, 5, i));
  ExampleStream example_stream(examples, Format::direct, "", Tokenizer(), 3, true);
  for (const TokenStream* s : {static_cast<const TokenStream*>(&recipe), static_cast<const TokenStream*>(&example_stream)}) {
    TokenBatch whole, part;
    s->batch(4, 6, 120, whole);
    std::vector<int32_t> tokens;
    std::vector<uint8_t> mask;
    for (int64_t first : {0, 2, 4}) {
      s->read_rows(4, 6, first, 2, 120, part);
      EXPECT_EQ(part.rows, 2);
      tokens.insert(tokens.end(), part.tokens.begin(), part.tokens.end());
      mask.insert(mask.end(), part.loss_mask.begin(), part.loss_mask.end());
    }
    EXPECT_EQ(tokens, whole.tokens);
    EXPECT_EQ(mask, whole.loss_mask);
  }
}

TEST(Distributed, EnvironmentAndBackendErrors) {
  ::unsetenv("WORLD_SIZE");
  EXPECT_FALSE(dist_options_from_env("gloo", 10).active());
  ::setenv("WORLD_SIZE", "2", 1);
  ::unsetenv("RANK");
  EXPECT_NE(testing::error_of([] { dist_options_from_env("gloo", 10); }).find("RANK is not"), std::string::npos);
  ::setenv("RANK", "2", 1);
  EXPECT_NE(testing::error_of([] { dist_options_from_env("gloo", 10); }).find("RANK=2 must be below WORLD_SIZE=2"),
            std::string::npos);
  ::setenv("RANK", "1", 1);
  ::setenv("MASTER_PORT", "http", 1);
  EXPECT_NE(testing::error_of([] { dist_options_from_env("gloo", 10); }).find("MASTER_PORT='http'"), std::string::npos);
  ::unsetenv("WORLD_SIZE");
  ::unsetenv("RANK");
  ::unsetenv("MASTER_PORT");
#ifdef USE_C10D_NCCL  // a CUDA libtorch (the 2.x wheel), on a machine without a GPU
  EXPECT_NE(testing::error_of([] { check_dist_backend("nccl"); }).find("needs a CUDA device"), std::string::npos);
#else
  EXPECT_NE(testing::error_of([] { check_dist_backend("nccl"); }).find("CPU-only"), std::string::npos);
#endif
  EXPECT_NE(testing::error_of([] { check_dist_backend("mpi"); }).find("valid: gloo, nccl"), std::string::npos);
  EXPECT_EQ(rank_rows(6, 1, nullptr).count, 6);  // alone: every row
}

}  // namespace
}  // namespace elab

namespace elab {

// The worker half: runs only inside the processes the test above starts (main.cpp calls
// it, instead of the tests, when ELAB_TEST_DIST_OUT is set), so it is no ctest entry.
int distributed_test_worker(const char* out) {
  auto dist = join_data_parallel("gloo", 60);
  check(dist != nullptr, "the worker was started without torchrun's variables");
  std::vector<std::pair<std::string, torch::Tensor>> grads, weights;
  gradient_and_steps(dist.get(), grads, weights);
  const fs::path dir = out;
  write_file_atomic(dir / fmt::format("grad{}.safetensors", dist->rank()), encode_safetensors(grads));
  write_file_atomic(dir / fmt::format("weights{}.safetensors", dist->rank()), encode_safetensors(weights));
  return 0;
}

}  // namespace elab
