#pragma once
// Thread pools. libtorch's intra-op pool and OpenBLAS's own pool are separate: set both,
// or they oversubscribe the cores (measured here: intra-op 1 + OpenBLAS 2 trains a small
// model ~2x faster than 2 + 2 on two cores).
namespace elab {

struct ThreadSettings {
  int torch_threads = 1;  // libtorch intra-op pool (element-wise ops, softmax, ...)
  int blas_threads = 0;   // OpenBLAS pool for matrix products; 0 = every core
};

// Applies the settings; returns them with 0 resolved to the core count.
ThreadSettings configure_threads(ThreadSettings s);
int hardware_cores();

}  // namespace elab
