// Q1 at every scale: the in-context gain, k-shot minus 0-shot accuracy of the same model
// on the same task, against parameters and against training tokens (Brown et al. 2020:
// larger models use in-context examples better; Olsson et al. 2022: in-context learning
// appears early in training and stays).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "report/scale_rows.h"

namespace elab {

namespace {

bool scored_by_accuracy(const ResultRow& r) {
  return r.metric.direction > 0 && (r.metric.name == "acc" || r.metric.name == "exact_match" || r.metric.name == "em");
}

// Each model checkpoint's gain: per task k-shot (the most shots it has) - 0-shot, pooled
// within task groups, then over groups.
struct Gain {
  const ResultRow* model = nullptr;  // any row of the checkpoint: its model facts
  int64_t shots = 0;
  PooledDifference gain;
  std::vector<std::pair<std::string, PooledDifference>> groups;  // each task group's gain
};

std::vector<Gain> gains(const std::vector<ResultRow>& rows) {
  // (model, step) -> (task, style, format, metric, seed) -> shots -> row
  std::map<std::pair<std::string, int64_t>, std::map<std::string, std::map<int64_t, const ResultRow*>>> by;
  for (const auto& r : rows) {
    // Direct answers with and without examples, as Brown et al. 2020 compare them; a chain
    // without examples (zero-shot CoT) fails on format before it fails on the task.
    if (!scored_by_accuracy(r) || r.method.shots < 0 || r.method.style != "direct") continue;
    const std::string k = fmt::format("{}|{}|{}|{}|{}", r.task, r.method.style, r.method.format, r.metric.name, r.seed);
    by[{r.model.name, r.model.step}][k][r.method.shots] = &r;
  }
  std::vector<Gain> out;
  for (const auto& [model, tasks] : by) {
    std::map<std::string, std::vector<RowDifference>> groups;
    Gain g;
    for (const auto& [k, shots] : tasks) {
      if (!shots.count(0) || shots.rbegin()->first == 0) continue;
      const ResultRow* zero = shots.at(0);
      const ResultRow* few = shots.rbegin()->second;
      g.model = few;
      g.shots = std::max(g.shots, shots.rbegin()->first);
      groups[subtask_group(zero->task) + (zero->method.format.empty() ? "" : " (" + zero->method.format + ")")].push_back(difference(*few, *zero));
    }
    if (!g.model) continue;
    std::vector<RowDifference> per_group;
    for (const auto& [name, ds] : groups) {
      const PooledDifference p = pool(ds);
      per_group.push_back({p.diff, p.lo, p.hi, false});
      g.groups.emplace_back(name, p);
    }
    g.gain = pool(per_group);
    out.push_back(g);
  }
  return out;
}

std::string run(RowAnalysisContext& c) {
  const auto all = gains(c.rows);
  if (all.empty()) return "";
  c.doc.heading("Q1 at every scale: the in-context gain (k-shot minus 0-shot)", 3);
  c.doc.para("For each model and checkpoint, direct-answer accuracy with its most in-context examples minus its zero-shot "
             "accuracy on the same task, metric and format (acc, exact match); numbered sub-tasks and MMLU's subjects are first "
             "averaged into one task each, then tasks are averaged. Published: larger models gain more from in-context "
             "examples (Brown et al. 2020, fig. 1.2); the gain appears early in training and stays (Olsson et al. 2022).");
  // By size: each model's last checkpoint.
  std::map<std::string, int64_t> last;  // -1 (final weights) wins over any step
  for (const auto& g : all) {
    auto [it, fresh] = last.emplace(g.model->model.name, g.model->model.step);
    if (!fresh && later_checkpoint(g.model->model.step, it->second)) it->second = g.model->model.step;
  }
  std::map<std::string, std::vector<const Gain*>> fam;
  for (const auto& g : all)
    if (g.model->model.step == last[g.model->model.name]) fam[series_family(g.model->model)].push_back(&g);
  std::vector<std::vector<std::string>> table;
  std::string summary;
  int grows = 0, families = 0;
  for (auto& [family, gs] : fam) {
    std::sort(gs.begin(), gs.end(), [](const Gain* a, const Gain* b) { return a->model->model.parameters < b->model->model.parameters; });
    for (const auto* g : gs)
      table.push_back({family, g->model->model.name, size_label(g->model->model.parameters), std::to_string(g->shots),
                       std::to_string(g->gain.parts), effect_ci(g->gain.diff, g->gain.lo, g->gain.hi)});
    const Gain* big = gs.back();
    if (std::isfinite(big->gain.lo)) c.findings.push_back(make_finding("Q1", "in-context examples raise accuracy over zero-shot (the in-context gain)",
                                      fmt::format("{} {} ({}): {}-shot - 0-shot, {} tasks", family, size_label(big->model->model.parameters),
                                                  big->model->model.name, big->shots, big->gain.parts),
                                      as_paired(big->gain), "Brown et al. 2020 (GPT-3: few-shot beats zero-shot, more so at scale)", 1));
    for (const auto* g : gs)
      if (g->gain.lo > 0) {
        c.marks.push_back({family, "in-context gain > 0", g->model->model.parameters});
        break;
      }
    if (gs.size() >= 2 && std::isfinite(gs.front()->gain.lo) && std::isfinite(big->gain.lo)) {
      const RowDifference d = minus(big->gain, gs.front()->gain);
      ++families;
      grows += d.lo > 0;
      c.findings.push_back(make_finding("Q1", "the in-context gain grows with size",
                                        fmt::format("{}: gain at {} - gain at {}", family, size_label(big->model->model.parameters),
                                                    size_label(gs.front()->model->model.parameters)),
                                        {d.diff, d.lo, d.hi}, "Brown et al. 2020 (the gap between few- and zero-shot widens with size)", 1));
    }
  }
  c.doc.table({"family", "model", "parameters", "k", "tasks", "k-shot - 0-shot [95% CI]"}, table);
  // What the pooled gain is made of, at each family's largest model.
  std::vector<std::vector<std::string>> parts;
  for (const auto& [family, gs] : fam)
    for (const auto& [task, p] : gs.back()->groups)
      parts.push_back({family, gs.back()->model->model.name, task, effect_ci(p.diff, p.lo, p.hi)});
  c.doc.para("Each task's gain at each family's largest model (what the pooled gain is made of):");
  c.doc.table({"family", "model", "task", "k-shot - 0-shot [95% CI]"}, parts);
  // Over training: each family's largest model with several checkpoints.
  std::vector<std::vector<std::string>> steps;
  for (auto& [family, gs] : fam) {
    const std::string name = gs.back()->model->model.name;
    std::vector<const Gain*> traj;
    for (const auto& g : all)
      if (g.model->model.name == name) traj.push_back(&g);
    if (traj.size() < 3) continue;
    std::sort(traj.begin(), traj.end(), [](const Gain* a, const Gain* b) { return a->model->model.step < b->model->model.step; });
    for (const auto* g : traj)
      steps.push_back({name, std::to_string(g->model->model.step), size_label(g->model->model.tokens),
                       effect_ci(g->gain.diff, g->gain.lo, g->gain.hi)});
    const RowDifference d = minus(traj.back()->gain, traj.front()->gain);
    if (std::isfinite(d.lo)) c.findings.push_back(make_finding("Q1", "the in-context gain is larger at the end of training than at its first measured checkpoint",
                                      fmt::format("{}: gain at step {} - gain at step {}", name, traj.back()->model->model.step,
                                                  traj.front()->model->model.step),
                                      {d.diff, d.lo, d.hi}, "Olsson et al. 2022 (in-context learning forms early in training)", 1));
  }
  if (!steps.empty()) {
    c.doc.para("Over training (each family's largest model with several checkpoints; tokens = step x the sidecar's tokens per step):");
    c.doc.table({"model", "step", "tokens", "k-shot - 0-shot [95% CI]"}, steps);
  }
  summary = fmt::format("in-context gain measured for {} checkpoints of {} families; it grows with size (CI above 0) in {} of {} "
                        "families with several sizes", all.size(), fam.size(), grows, families);
  c.doc.verdict(summary);
  return summary;
}

}  // namespace

RowAnalysis icl_gain_analysis() {
  return {"icl-gain", "Q1", "the in-context gain by size and over training", run};
}

}  // namespace elab
