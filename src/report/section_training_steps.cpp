#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "report/curves.h"
#include "report/sections.h"

namespace elab {

// Over training steps: the evaluations during training of each base (--eval-task curves,
// with their transition steps), and the study's evaluations of snapshots beside the
// final model's.
void section_training_steps(const std::vector<JobRecord>& jobs, const std::vector<EvalRow>& rows, Doc& doc) {
  std::vector<const JobRecord*> with_curves;
  for (const auto& j : jobs)
    if (const PretrainOutcome* out = j.pretrained(); out && j.status == "done" && !out->curves.is_null() && !out->curves.empty())
      with_curves.push_back(&j);
  const bool any_snapshot = std::any_of(rows.begin(), rows.end(), [](const EvalRow& r) { return r.snapshot > 0; });
  if (with_curves.empty() && !any_snapshot) return;
  doc.heading("Over training steps", 2);
  for (const JobRecord* j : with_curves) {
    const std::string base = base_label(j->spec);
    const RunCurves curves = run_curves_from_entries(j->pretrained()->curves, "study job " + j->key);
    doc.heading("Evaluations during training: " + base, 3);
    doc.figure(run_curves_svg(curves, base));
    std::vector<std::vector<std::string>> table;
    auto describe = [&](const Curve& c, double min_change) {
      const Transition t = find_transition(c, min_change);
      table.push_back({c.name, fmt::format("{:.3f}", t.start), fmt::format("{:.3f}", t.end),
                       t.found ? fmt::format("{:.0f}", t.step) : "none", t.found ? fmt::format("{:.0f}", t.width) : "",
                       t.found ? fmt::format("{:.0f}", t.plateau_step) : ""});
    };
    for (const auto& c : curves.accuracies) describe(c, 0.1);
    for (const auto& c : curves.losses) describe(c, 0.05);
    doc.table({"curve", "start", "end", "transition step", "20-80% width", "plateau from"}, table);
  }
  if (!any_snapshot) return;
  doc.para("Snapshots: the base evaluated at the steps [pretrain] save_at kept, and at its last step.");
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    if (r.adaptation != "prompt") continue;
    const bool has_snapshots = std::any_of(rows.begin(), rows.end(), [&](const EvalRow& x) {
      return x.snapshot > 0 && x.preset == r.preset && x.recipe == r.recipe && x.train_seed == r.train_seed &&
             x.task == r.task && x.split == r.split && x.method == r.method;
    });
    if (!has_snapshots) continue;
    table.push_back({r.base, r.task, r.split, r.method,
                     r.snapshot > 0 ? std::to_string(r.snapshot) : "final",
                     fmt::format("{:.3f} [{:.3f}, {:.3f}]", r.accuracy, r.lo, r.hi)});
  }
  doc.table({"base", "task", "split", "method", "step", "accuracy [95% CI]"}, table);
}

}  // namespace elab
