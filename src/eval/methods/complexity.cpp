// complex:K:N[:M]: complexity-based prompting (Fu et al. 2023): the K exemplars with the
// most rationale steps, N sampled chains, the majority among the M longest.
#include <algorithm>

#include "eval/method.h"

namespace elab {

MethodEntry complexity_method() {
  return {"complex", "complex:K:N[:M]",
          "complexity-based: the K exemplars with the most steps, N sampled chains, vote among the M (N/2) longest",
          [](const MethodArgs& a) {
            a.arity(2, 3);
            Method m;
            m.shots = a.count(0, "K", 0);
            m.samples = a.count(1, "N", 1);
            m.vote_top = a.parts.size() == 3 ? a.count(2, "M", 1) : std::max(1, m.samples / 2);
            if (m.vote_top > m.samples) a.error("M exceeds N");
            m.temperature = 0.7;
            m.format = Format::cot;
            m.aggregation = Aggregation::longest_chains;
            m.exemplars = ExemplarPolicy::most_complex;
            return m;
          }};
}

}  // namespace elab
