#include "core/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace elab {

// The cores this process may run on: its CPU affinity (what taskset, cgroups and Slurm
// allocate), not every core of the machine.
int hardware_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : int(n);
}

// Data-parallel ranks on one machine split its cores (torchrun's LOCAL_WORLD_SIZE).
static int cores_for_this_process() {
  int ranks = 1;
  if (const char* v = std::getenv("LOCAL_WORLD_SIZE"); v != nullptr && std::atoi(v) > 1) ranks = std::atoi(v);
  return std::max(1, hardware_cores() / ranks);
}

ThreadSettings configure_threads(ThreadSettings s) {
  configure_memory();
  if (s.torch_threads <= 0) s.torch_threads = cores_for_this_process();
  if (s.workers <= 0) s.workers = cores_for_this_process();
  // Workers already fill the cores; each one's products run on its own thread.
  if (s.blas_threads <= 0) s.blas_threads = s.workers > 1 ? 1 : cores_for_this_process();
  at::set_num_threads(s.torch_threads);
  // OpenBLAS reads OPENBLAS_NUM_THREADS only when it is loaded, which is before main;
  // its setter is looked up at run time so that another BLAS still links and runs.
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(s.blas_threads);
  return s;
}

void run_parts(size_t n, const std::function<void(size_t)>& part) {
  std::vector<std::exception_ptr> errors(n);
  auto guarded = [&](size_t i) {
    try {
      part(i);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i) threads.emplace_back(guarded, i);
  if (n > 0) guarded(0);
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

void parallel_for(size_t count, int threads, const std::function<void(size_t)>& fn,
                  const std::function<void(size_t)>& on_done) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex done_mutex;
  size_t done = 0;
  const size_t n = size_t(std::clamp<int64_t>(threads, 1, int64_t(std::max<size_t>(count, 1))));
  run_parts(n, [&](size_t) {
    for (size_t i; !failed && (i = next++) < count;) {
      try {
        fn(i);
      } catch (...) {
        failed = true;
        throw;
      }
      if (on_done) {
        std::lock_guard lock(done_mutex);
        on_done(++done);
      }
    }
  });
}

void configure_memory() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);  // blocks below 1 GiB come from the heap
  mallopt(M_TRIM_THRESHOLD, -1);       // and are never trimmed back to the kernel
  mallopt(M_TOP_PAD, 256 << 20);       // grow the heap in large steps
}

}  // namespace elab
