#pragma once
// Data-parallel training over libtorch's c10d: ranks meet at a TCPStore on rank 0 (the
// rendezvous torchrun uses), and gradients are summed by a ProcessGroupGloo (CPU) or
// ProcessGroupNCCL (a CUDA build of libtorch). The c10d headers stay in distributed.cpp.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace elab {

struct DistOptions {
  int world_size = 1;        // ranks in the whole job
  int rank = 0;              // this process's rank, 0 .. world_size - 1
  int local_rank = 0;        // rank on this machine (picks the GPU, sets thread counts)
  int local_world_size = 1;  // ranks on this machine
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string backend = "gloo";  // gloo (CPU) or nccl (CUDA builds only)
  double timeout_seconds = 120;  // a collective or the rendezvous waiting longer fails

  bool active() const { return world_size > 1; }
};

// Reads torchrun's variables: WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT. Without WORLD_SIZE (or with 1) the job is one process.
DistOptions dist_options_from_env(const std::string& backend, double timeout_seconds);

// Names a backend this build can use, or fails saying why (nccl needs CUDA and NCCL).
void check_dist_backend(const std::string& backend);

// One process group for the length of a training run.
class DataParallel {
 public:
  explicit DataParallel(const DistOptions& options);  // rendezvous with every rank
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  bool is_main() const { return options_.rank == 0; }
  const DistOptions& options() const { return options_; }

  // Sums every parameter's .grad() over the ranks, in place. Gradients are packed into
  // buckets of about `bucket_bytes`, all buckets are in flight at once, then unpacked.
  void sum_gradients(const std::vector<torch::Tensor>& params);
  // Sums a small tensor (loss, counts, flags) over the ranks, in place.
  void sum(torch::Tensor& values);
  // Copies rank 0's tensors into every other rank's, in place.
  void broadcast(const std::vector<torch::Tensor>& tensors);

  // Time spent in sum_gradients since construction (seconds) and how many calls.
  double gradient_seconds() const { return gradient_seconds_; }
  int64_t gradient_calls() const { return gradient_calls_; }

  int64_t bucket_bytes = 25 << 20;

 private:
  struct Group;
  DistOptions options_;
  std::unique_ptr<Group> group_;
  std::vector<torch::Tensor> buckets_;  // reused between steps: no per-step allocation
  double gradient_seconds_ = 0;
  int64_t gradient_calls_ = 0;
};

// This process's place in a data-parallel job started by a launcher (the environment
// above), after meeting the other ranks; nullptr when it runs alone.
std::unique_ptr<DataParallel> join_data_parallel(const std::string& backend, double timeout_seconds);

}  // namespace elab
