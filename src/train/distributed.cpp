#include "train/distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>

#include "core/error.h"

namespace elab {

static int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  check(*end == '\0' && x >= 0 && x < (1 << 30), "environment variable {}='{}' is not a non-negative integer", name, v);
  return int(x);
}

DistOptions dist_options_from_env(const std::string& backend, double timeout_seconds) {
  DistOptions o;
  o.backend = backend;
  o.timeout_seconds = timeout_seconds;
  o.world_size = env_int("WORLD_SIZE", 1);
  check(o.world_size >= 1, "WORLD_SIZE must be at least 1");
  if (o.world_size == 1) return o;
  check(std::getenv("RANK") != nullptr, "WORLD_SIZE={} is set but RANK is not (start ranks with elab ... --nproc N, "
        "torchrun, srun or mpirun, which set both)", o.world_size);
  o.rank = env_int("RANK", 0);
  o.local_rank = env_int("LOCAL_RANK", o.rank);
  o.local_world_size = env_int("LOCAL_WORLD_SIZE", o.world_size);
  check(o.rank < o.world_size, "RANK={} must be below WORLD_SIZE={}", o.rank, o.world_size);
  check(o.local_world_size >= 1 && o.local_rank < o.local_world_size,
        "LOCAL_RANK={} must be below LOCAL_WORLD_SIZE={}", o.local_rank, o.local_world_size);
  if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a != '\0') o.master_addr = a;
  o.master_port = env_int("MASTER_PORT", 29500);
  check(o.master_port > 0 && o.master_port < 65536, "MASTER_PORT={} is not a TCP port", o.master_port);
  check(timeout_seconds > 0, "the distributed timeout must be positive, got {}", timeout_seconds);
  return o;
}

void check_dist_backend(const std::string& backend) {
  if (backend == "gloo") return;
  if (backend == "nccl") {
#ifdef USE_C10D_NCCL
    check(torch::cuda::is_available(), "--backend nccl needs a CUDA device, and none is visible");
    return;
#else
    fail("--backend nccl needs a libtorch built with CUDA and NCCL; this one is CPU-only (use --backend gloo)");
#endif
  }
  fail("unknown distributed backend '{}' (valid: gloo, nccl)", backend);
}

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
#if TORCH_VERSION_MAJOR >= 2
  c10::intrusive_ptr<c10d::Backend> pg;  // 2.x: Gloo and NCCL are backends under a ProcessGroup
#else
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
#endif
};

// Collective failures arrive as gloo or c10 exceptions about sockets; say what they mean.
template <typename F>
static void collective(const DistOptions& o, const char* what, F&& f) {
  try {
    f();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    fail("{} failed: another rank exited or was killed, or did not answer within {} s ({})", what, o.timeout_seconds,
         e.what_without_backtrace());
  } catch (const std::exception& e) {
    fail("{} failed: another rank exited or was killed, or did not answer within {} s ({})", what, o.timeout_seconds,
         e.what());
  }
}

static bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

DataParallel::DataParallel(const DistOptions& options) : options_(options), group_(std::make_unique<Group>()) {
  check_dist_backend(options.backend);
  const auto timeout = std::chrono::milliseconds(int64_t(options.timeout_seconds * 1000));
  collective(options_, "rendezvous", [&] {
    c10d::TCPStoreOptions so;
    so.port = uint16_t(options.master_port);
    // A torchrun agent may already serve the store; then every rank is a client.
    const char* agent_store = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
    so.isServer = options.rank == 0 && !(agent_store != nullptr && std::string(agent_store) == "True");
    so.numWorkers = options.world_size;
    so.waitWorkers = true;
    so.timeout = timeout;
    group_->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, so);
  });
  collective(options_, "creating the process group", [&] {
#ifdef USE_C10D_NCCL
    if (options.backend == "nccl") {
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = timeout;
      group_->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(group_->store, options.rank, options.world_size, nccl);
      return;
    }
#endif
    auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
    // One machine: loopback. Several: GLOO_SOCKET_IFNAME names the interface, as in PyTorch.
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0')
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(options.master_addr))
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    group_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, options.rank, options.world_size, gloo);
  });
}

DataParallel::~DataParallel() = default;

void DataParallel::sum(torch::Tensor& values) {
  collective(options_, "summing over ranks", [&] {
    // NCCL reduces GPU tensors only; the small host-side sums travel through this rank's GPU.
    const bool via_gpu = options_.backend == "nccl" && values.device().is_cpu();
    std::vector<at::Tensor> ts{via_gpu ? values.to(torch::Device(torch::kCUDA, options_.local_rank)) : values};
    group_->pg->allreduce(ts)->wait();
    if (via_gpu) values.copy_(ts[0]);
  });
}

void DataParallel::broadcast(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  collective(options_, "broadcast from rank 0", [&] {
    for (const auto& t : tensors) {
      const bool via_gpu = options_.backend == "nccl" && t.device().is_cpu();
      std::vector<at::Tensor> ts{via_gpu ? t.to(torch::Device(torch::kCUDA, options_.local_rank)) : t};
      group_->pg->broadcast(ts)->wait();
      if (via_gpu) t.copy_(ts[0]);
    }
  });
}

void DataParallel::sum_gradients(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  auto t0 = std::chrono::steady_clock::now();
  // Buckets in reverse parameter order, the order backward produces gradients in; the
  // layout is the same on every rank because every rank has the same parameters.
  struct Span {
    size_t bucket;
    int64_t offset;
  };
  std::vector<Span> spans(params.size());
  std::vector<int64_t> bucket_numel;
  int64_t filled = 0;
  for (size_t i = params.size(); i-- > 0;) {
    const int64_t n = params[i].numel();
    if (bucket_numel.empty() || (filled > 0 && (filled + n) * 4 > bucket_bytes)) bucket_numel.push_back(0), filled = 0;
    spans[i] = {bucket_numel.size() - 1, filled};
    filled += n;
    bucket_numel.back() = filled;
  }
  if (buckets_.size() != bucket_numel.size()) buckets_.assign(bucket_numel.size(), torch::Tensor());
  for (size_t b = 0; b < buckets_.size(); ++b)
    if (!buckets_[b].defined() || buckets_[b].numel() != bucket_numel[b] ||
        buckets_[b].device() != params.front().device())
      buckets_[b] = torch::empty({bucket_numel[b]}, params.front().options().dtype(torch::kFloat));

  // Pack and launch each bucket as soon as it is full, so the first sums overlap packing.
  std::vector<c10::intrusive_ptr<c10d::Work>> works(buckets_.size());
  size_t next_launch = 0;
  collective(options_, "gradient all-reduce", [&] {
    for (size_t i = params.size(); i-- > 0;) {
      const auto& p = params[i];
      auto dst = buckets_[spans[i].bucket].narrow(0, spans[i].offset, p.numel());
      if (p.grad().defined())
        dst.copy_(p.grad().reshape({-1}));
      else
        dst.zero_();  // no gradient on this rank counts as zero, so every rank sends the same layout
      const bool bucket_done = i == 0 || spans[i - 1].bucket != spans[i].bucket;
      if (bucket_done) {
        std::vector<at::Tensor> ts{buckets_[next_launch]};
        works[next_launch] = group_->pg->allreduce(ts);
        ++next_launch;
      }
    }
    for (auto& w : works) w->wait();
  });
  for (size_t i = 0; i < params.size(); ++i) {
    auto src = buckets_[spans[i].bucket].narrow(0, spans[i].offset, params[i].numel()).view(params[i].sizes());
    auto p = params[i];
    if (p.grad().defined())
      p.mutable_grad().copy_(src);
    else
      p.mutable_grad() = src.clone();
  }
  gradient_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ++gradient_calls_;
}

std::unique_ptr<DataParallel> join_data_parallel(const std::string& backend, double timeout_seconds) {
  DistOptions options = dist_options_from_env(backend, timeout_seconds);
  if (!options.active()) {
    check_dist_backend(backend);
    return nullptr;
  }
  return std::make_unique<DataParallel>(options);
}

}  // namespace elab
