#pragma once
// Thread pools. libtorch's intra-op pool and OpenBLAS's own pool are separate: set both,
// or they oversubscribe the cores (measured here: intra-op 1 + OpenBLAS 2 trains a small
// model ~2x faster than 2 + 2 on two cores).
#include <cstddef>
#include <functional>

namespace elab {

struct ThreadSettings {
  int torch_threads = 1;  // libtorch intra-op pool (element-wise ops, softmax, ...)
  int blas_threads = 0;   // OpenBLAS pool for matrix products; 0 = every core (1 with workers > 1)
  // Training: threads that share each batch, each running whole forward/backward passes
  // on its rows with single-threaded operations. 0 = one per core.
  int workers = 0;
};

// Applies the settings (and configure_memory()); returns them with 0 resolved to this
// process's cores: the CPU affinity's count, divided by LOCAL_WORLD_SIZE when several
// data-parallel ranks share the machine.
ThreadSettings configure_threads(ThreadSettings s);
int hardware_cores();

// Runs part(0) .. part(n - 1) at once, part 0 on the calling thread, waits for all and
// rethrows the first error. The other parts run on the program's persistent threads
// (started when a call needs more than are idle, then kept): each part starts with grad
// mode on and no InferenceMode, and sets what it needs with a guard.
void run_parts(size_t n, const std::function<void(size_t)>& part);
// Threads the fan-out has started in this process: a program that fans out to n parts
// again and again starts n - 1 of them once.
size_t fan_out_threads_started();
// Runs fn(0) .. fn(count - 1) on `threads` threads (the caller among them), each taking
// the next index when it is free; after an error no new index starts, and the first
// error is rethrown. `on_done(k)` is called (serialised) after the k-th finished index.
// The one fan-out of the program: with threads = count it is run_parts.
void parallel_for(size_t count, int threads, const std::function<void(size_t)>& fn,
                  const std::function<void(size_t)>& on_done = {});

// Keeps freed tensor memory in the process instead of returning it to the kernel after
// every step. glibc serves large blocks with mmap and unmaps them on free, so each
// training step page-faulted its activations in again: measured 36M minor faults in a
// 2-minute fine-tuning grid, and on `bench train --preset m --seq-len 768` 4.1K tok/s
// (sys time twice user time) before, 13.8K after; preset l at 128: 9.1K -> 10.9K.
void configure_memory();

}  // namespace elab
