// icl:K: K exemplars in direct format (Brown et al. 2020), and the label probes of Min et
// al. 2022: exemplars showing another exemplar's answer, the wrong yes/no label, or no
// question at all.
#include <algorithm>

#include "core/error.h"
#include "core/names.h"
#include "eval/method.h"

namespace elab {

namespace {

std::string flip_label(const std::string& answer, const std::string& task) {
  static const std::vector<std::pair<std::string, std::string>> pairs = {
      {"yes", "no"}, {"Yes", "No"}, {"true", "false"}, {"True", "False"}, {"valid", "invalid"}, {"Valid", "Invalid"}};
  for (const auto& [a, b] : pairs) {
    if (answer == a) return b;
    if (answer == b) return a;
  }
  fail("method icl:K:flipped needs a yes/no task; task {} has the answer '{}'", task, answer);
}

// Each exemplar shows the next one's answer: labels that do not fit the question.
void rotate_labels(const Task&, std::vector<Example>& shots) {
  std::vector<std::string> answers;
  for (const auto& e : shots) answers.push_back(e.answer);
  for (size_t i = 0; i < shots.size(); ++i) shots[i].answer = answers[(i + 1) % answers.size()];
}

void flip_labels(const Task& task, std::vector<Example>& shots) {
  for (auto& e : shots) e.answer = flip_label(e.answer, task.name());
}

}  // namespace

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
              if (m.probe == "random-labels") m.corrupt_exemplars = rotate_labels;
              if (m.probe == "flipped") m.corrupt_exemplars = flip_labels;
              m.answers_only = m.probe == "no-question";
            }
            return m;
          }};
}

}  // namespace elab
