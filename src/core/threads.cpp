#include "core/threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <thread>

namespace elab {

int hardware_cores() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : int(n);
}

ThreadSettings configure_threads(ThreadSettings s) {
  if (s.torch_threads <= 0) s.torch_threads = hardware_cores();
  if (s.blas_threads <= 0) s.blas_threads = hardware_cores();
  at::set_num_threads(s.torch_threads);
  // OpenBLAS reads OPENBLAS_NUM_THREADS only when it is loaded, which is before main;
  // its setter is looked up at run time so that another BLAS still links and runs.
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(s.blas_threads);
  return s;
}

}  // namespace elab
