#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace elab {

double LrSchedule::at(int64_t step) const {
  if (warmup > 0 && step < warmup) return peak * double(step + 1) / double(warmup);
  if (total <= warmup || kind == "constant") return peak;
  double progress = std::clamp(double(step - warmup) / double(total - warmup), 0.0, 1.0);
  double decay = kind == "linear" ? 1.0 - progress : 0.5 * (1.0 + std::cos(M_PI * progress));
  return peak * (min_ratio + (1.0 - min_ratio) * decay);
}

void check_schedule_kind(const std::string& kind) {
  check(kind == "cosine" || kind == "constant" || kind == "linear",
        "--schedule must be cosine, constant or linear, got '{}'", kind);
}

}  // namespace elab
