#include "core/threads.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <dlfcn.h>
#include <malloc.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <latch>
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

namespace {

// The threads of every fan-out, kept between calls: starting threads for each batch of
// each evaluation cost more than the parts of small models. A part goes to an idle thread
// or, when none is idle, to a new one, so a part that fans out again never waits for a
// thread held by its own caller. Invariant (under `mutex`): idle + queued = the threads
// that are free or about to take a queued part. Never destroyed: threads blocked on the
// condition at exit end with the process.
class Pool {
 public:
  // `task` runs on a pool thread; `done` after that thread counts itself idle again, so
  // a caller that waits for `done` and fans out again finds it idle.
  void submit(std::function<void()> task, std::function<void()> done) {
    std::lock_guard lock(mutex_);
    queue_.push_back({std::move(task), std::move(done)});
    if (idle_ > 0) {
      --idle_;
      ready_.notify_one();
    } else {
      std::thread(&Pool::loop, this).detach();
      ++started_;
    }
  }
  size_t started() {
    std::lock_guard lock(mutex_);
    return started_;
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_.wait(lock, [&] { return !queue_.empty(); });
      auto [task, done] = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      at::GradMode::set_enabled(true);  // each part starts from libtorch's thread defaults
      task();
      lock.lock();
      ++idle_;
      lock.unlock();
      done();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::pair<std::function<void()>, std::function<void()>>> queue_;
  size_t idle_ = 0, started_ = 0;
};

Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

size_t fan_out_threads_started() { return pool().started(); }

void run_parts(size_t n, const std::function<void(size_t)>& part) {
  std::vector<std::exception_ptr> errors(n);
  auto guarded = [&](size_t i) {
    try {
      part(i);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  std::latch finished(ptrdiff_t(n > 0 ? n - 1 : 0));
  for (size_t i = 1; i < n; ++i)
    pool().submit([&, i] { guarded(i); }, [&] { finished.count_down(); });
  if (n > 0) guarded(0);
  finished.wait();
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
