// cot:K: K exemplars with rationales, greedy; the answer is read from the chain (Wei et
// al. 2022).
#include "eval/method.h"

namespace elab {

MethodEntry cot_method() {
  return {"cot", "cot:K", "K exemplars in chain-of-thought format, greedy; the answer is read from the chain",
          [](const MethodArgs& a) { return a.shots_in(Format::cot); }};
}

}  // namespace elab
