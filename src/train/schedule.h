#pragma once
#include <cstdint>

namespace elab {

// Linear warm-up from 0 to `peak` over `warmup` steps, then cosine decay to
// min_ratio * peak at step `total`.
struct LrSchedule {
  double peak = 3e-3;
  double min_ratio = 0.1;
  int64_t warmup = 100;
  int64_t total = 1000;
  double at(int64_t step) const;
};

}  // namespace elab
