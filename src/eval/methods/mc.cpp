// mc:K: likelihood-scored multiple choice, the protocol lm-evaluation-harness uses for
// small models on closed answer sets. The prompt is icl:K's (K direct exemplars, then the
// item up to "A:"); nothing is generated: each option of the item's answer set is scored
// by its log-likelihood as the continuation " OPTION", and the most likely is the answer
// (acc); acc_norm divides each log-likelihood by the option's length in characters first.
// A model that ranks the right answer first scores, whatever format it would write.
#include "eval/method.h"

namespace elab {

MethodEntry mc_method() {
  return {"mc", "mc:K",
          "K direct exemplars, then each option of the item's closed answer set scored by its log-likelihood; the most "
          "likely is the answer (lm-evaluation-harness acc, with acc_norm beside it)",
          [](const MethodArgs& a) {
            Method m = a.shots_in(Format::direct);
            m.likelihood = true;
            return m;
          }};
}

}  // namespace elab
