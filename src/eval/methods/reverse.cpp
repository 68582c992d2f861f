// reverse:K: K exemplars whose answers are written least-significant digit first (the
// reverse format of Lee et al. 2023, "Teaching arithmetic to small transformers"),
// greedy; the model's answer line is read back reversed before it is scored. For models
// pre-trained on a reverse-format recipe (task:add@reverse).
#include "eval/method.h"

namespace elab {

MethodEntry reverse_method() {
  return {"reverse", "reverse:K", "K exemplars in the reverse format (answers least-significant digit first), read back reversed",
          [](const MethodArgs& a) { return a.shots_in(Format::reverse); }};
}

}  // namespace elab
