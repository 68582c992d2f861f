// cot:K: K exemplars with rationales, greedy; the answer is read from the chain (Wei et
// al. 2022).
#include "eval/method.h"

namespace elab {

MethodEntry cot_method() {
  return {"cot", "cot:K", "K exemplars in chain-of-thought format, greedy; the answer is read from the chain",
          [](const MethodArgs& a) {
            a.arity(1, 1);
            Method m;
            m.shots = a.count(0, "K", 0);
            m.format = Format::cot;
            return m;
          }};
}

}  // namespace elab
