// Emergence thresholds per family: the smallest rung whose score is above the task's
// chance level with its CI, and stays above at every larger rung; the interval between
// that rung and the one below is where the ability appears. The same over training steps
// for each family's largest model. Only rows whose source states a chance level count.
#include <fmt/format.h>

#include <algorithm>

#include "report/curves.h"
#include "report/scale_rows.h"

namespace elab {

namespace {

// Rows of one task group averaged into one (MMLU's subjects, numbered sub-tasks), with the
// standard error of a mean of independent parts.
struct Point {
  double x = 0;  // parameters, or step
  double value = 0, lo = 0, chance = 0;
};

// (series key) -> x -> parts
using Series = std::map<std::string, std::map<double, std::vector<const ResultRow*>>>;

Point average(double x, const std::vector<const ResultRow*>& parts) {
  Point p;
  p.x = x;
  double var = 0, chance = 0;
  for (const auto* r : parts) {
    p.value += r->value;
    const double se = r->standard_error();
    var += std::isfinite(se) ? se * se : INFINITY;
    chance += r->metric.chance;
  }
  const double k = double(parts.size());
  p.value /= k, chance /= k;
  p.lo = p.value - 1.96 * std::sqrt(var) / k;
  p.chance = chance;
  return p;
}

// The index from which every point is above chance; size() when the last is not.
size_t emerges_from(const std::vector<Point>& pts) {
  size_t from = pts.size();
  while (from > 0 && pts[from - 1].lo > pts[from - 1].chance) --from;
  return from;
}

std::string interval(const std::vector<Point>& pts, size_t from, const std::function<std::string(double)>& label) {
  if (from == pts.size()) return fmt::format("not above chance at any of {} (up to {})", pts.size(), label(pts.back().x));
  if (from == 0) return fmt::format("already at the first ({})", label(pts[0].x));
  return fmt::format("({}, {}]", label(pts[from - 1].x), label(pts[from].x));
}

std::string run(RowAnalysisContext& c) {
  Series by_size, by_step;
  std::map<std::string, std::string> largest;  // series (family and variant) -> its largest model
  std::map<std::string, double> largest_size;
  for (const ResultRow* r : final_checkpoint(c.rows)) {
    if (!std::isfinite(r->metric.chance) || r->metric.direction < 0 || !std::isfinite(r->model.parameters)) continue;
    const std::string key = fmt::format("{}|{}|{}-shot {} {} {}", series_family(r->model), subtask_group(r->task), r->method.shots,
                                        r->method.style, r->method.format, r->metric.name);
    by_size[key][r->model.parameters].push_back(r);
    // Each series' largest model (the same family and variant as the ladder above).
    if (r->model.parameters > largest_size[series_family(r->model)])
      largest_size[series_family(r->model)] = r->model.parameters, largest[series_family(r->model)] = r->model.name;
  }
  for (const auto& r : c.rows) {
    if (!std::isfinite(r.metric.chance) || r.metric.direction < 0 || r.model.step < 0) continue;
    if (largest[series_family(r.model)] != r.model.name) continue;
    const std::string key = fmt::format("{}|{}|{}-shot {} {} {}", r.model.name, subtask_group(r.task), r.method.shots,
                                        r.method.style, r.method.format, r.metric.name);
    by_step[key][double(r.model.step)].push_back(&r);
  }
  std::vector<std::vector<std::string>> table, steps;
  int emerged = 0, series = 0;
  for (const auto& [key, xs] : by_size) {
    if (xs.size() < 3) continue;  // a threshold needs a ladder
    std::vector<Point> pts;
    for (const auto& [x, parts] : xs) pts.push_back(average(x, parts));
    const size_t from = emerges_from(pts);
    ++series;
    emerged += from > 0 && from < pts.size();
    const auto bar1 = key.find('|'), bar2 = key.find('|', bar1 + 1);
    table.push_back({key.substr(0, bar1), key.substr(bar1 + 1, bar2 - bar1 - 1), key.substr(bar2 + 1),
                     fmt::format("{:.3f}", pts.front().chance), fmt::format("{:.3f} .. {:.3f}", pts.front().value, pts.back().value),
                     interval(pts, from, size_label)});
  }
  for (const auto& [key, xs] : by_step) {
    if (xs.size() < 4) continue;
    std::vector<Point> pts;
    for (const auto& [x, parts] : xs) pts.push_back(average(x, parts));
    const size_t from = emerges_from(pts);
    const auto bar1 = key.find('|'), bar2 = key.find('|', bar1 + 1);
    // Where the curve moves from its start level to its end level (report/curves.h): the
    // halfway step and the 20%-80% width, when it moves by 0.02 or more.
    Curve curve;
    for (const auto& p : pts) curve.steps.push_back(p.x), curve.values.push_back(p.value);
    const Transition t = find_transition(curve, 0.02);
    steps.push_back({key.substr(0, bar1), key.substr(bar1 + 1, bar2 - bar1 - 1), key.substr(bar2 + 1),
                     interval(pts, from, [](double s) { return fmt::format("step {:g}", s); }),
                     t.found ? fmt::format("{:.3f} -> {:.3f}", t.start, t.end) : "flat",
                     t.found ? fmt::format("{:.0f}", t.step) : "-", t.found ? fmt::format("{:.0f}", t.width) : "-"});
  }
  if (table.empty() && steps.empty()) return "";
  c.doc.heading("Q3 at every scale: where each family rises above chance", 3);
  c.doc.para("For every family, task (sub-tasks averaged) and method with a stated chance level and at least three sizes: the "
             "interval of sizes where the score's 95% CI first rises above chance and stays above at every larger size. "
             "\"Already at the first\" means the ladder starts above chance; such a task shows no threshold within this "
             "family's range. Published: abilities that appear abruptly at a scale (Wei et al. 2022, \"Emergent abilities\"), "
             "or smoothly under a continuous metric (Schaeffer et al. 2023; next section).");
  c.doc.table({"family", "task", "method / filter / metric", "chance", "score smallest .. largest", "rises above chance"}, table);
  if (!steps.empty()) {
    c.doc.para("Over training steps, each family's largest model (at least four checkpoints): where the score rises above "
               "chance, and its transition (report/curves.h: the step where it first crosses halfway from its start level "
               "to its end level, and the steps from 20% to 80% of the way).");
    c.doc.table({"model", "task", "method / filter / metric", "rises above chance", "start -> end", "transition step",
                 "20-80% width"}, steps);
  }
  const std::string summary = fmt::format("{} of {} family x task series rise above chance between two rungs of their ladder "
                                          "(the rest are above chance from the smallest rung, or never)", emerged, series);
  c.doc.verdict(summary);
  return summary;
}

}  // namespace

RowAnalysis threshold_analysis() { return {"thresholds", "Q3", "emergence thresholds above chance", run}; }

}  // namespace elab
