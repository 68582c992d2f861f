// icl:K: K exemplars in direct format (Brown et al. 2020), and the label probes of Min et
// al. 2022: exemplars showing another exemplar's answer, the wrong yes/no label, or no
// question at all.
#include <algorithm>

#include "core/names.h"
#include "eval/method.h"

namespace elab {

MethodEntry icl_method() {
  return {"icl", "icl:K[:random-labels|flipped|no-question]",
          "K exemplars in direct format; the probes give exemplars another exemplar's answer, the wrong yes/no "
          "label, or no question",
          [](const MethodArgs& a) {
            a.arity(1, 2);
            Method m;
            m.shots = a.count(0, "K", 0);
            if (a.parts.size() == 2) {
              m.probe = a.parts[1];
              const std::vector<std::string> probes = {"random-labels", "flipped", "no-question"};
              if (std::find(probes.begin(), probes.end(), m.probe) == probes.end()) fail_unknown("ICL probe", m.probe, probes);
              if (m.shots < 1) a.error("a probe needs at least one exemplar");
              if (m.probe == "random-labels" && m.shots < 2) a.error("random labels need K >= 2 exemplars to swap");
              m.unprobed = "icl:" + a.parts[0];
            }
            return m;
          }};
}

}  // namespace elab
