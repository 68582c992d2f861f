#pragma once
#include <cstdint>
#include <string>

namespace elab {

// Linear warm-up from 0 to `peak` over `warmup` steps, then to min_ratio * peak at step
// `total`: a cosine ("cosine"), a straight line ("linear"), or no decay ("constant").
struct LrSchedule {
  double peak = 3e-3;
  double min_ratio = 0.1;
  int64_t warmup = 100;
  int64_t total = 1000;
  std::string kind = "cosine";
  double at(int64_t step) const;
};

void check_schedule_kind(const std::string& kind);  // an Error naming the valid kinds

}  // namespace elab
