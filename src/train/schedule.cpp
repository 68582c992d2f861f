#include "train/schedule.h"

#include <algorithm>
#include <cmath>

namespace elab {

double LrSchedule::at(int64_t step) const {
  if (warmup > 0 && step < warmup) return peak * double(step + 1) / double(warmup);
  if (total <= warmup) return peak;
  double progress = std::clamp(double(step - warmup) / double(total - warmup), 0.0, 1.0);
  double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return peak * (min_ratio + (1.0 - min_ratio) * cosine);
}

}  // namespace elab
