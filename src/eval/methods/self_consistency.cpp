// sc:K:N[:T]: self-consistency (Wang et al. 2023): N chains sampled at temperature T,
// the majority of their answers.
#include "eval/method.h"

namespace elab {

MethodEntry self_consistency_method() {
  return {"sc", "sc:K:N[:T]", "self-consistency: N chains sampled at temperature T (0.7), majority vote",
          [](const MethodArgs& a) {
            a.arity(2, 3);
            Method m;
            m.shots = a.count(0, "K", 0);
            m.samples = a.count(1, "N", 1);
            m.temperature = a.parts.size() == 3 ? a.real(2, "T") : 0.7;
            m.format = Format::cot;
            m.aggregation = Aggregation::majority;
            return m;
          }};
}

}  // namespace elab
