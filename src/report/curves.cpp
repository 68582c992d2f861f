#include "report/curves.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include "core/error.h"
#include "core/fs.h"
#include "report/svg.h"

namespace elab {

RunCurves read_run_curves(const std::string& run_dir) {
  const std::string path = run_dir + "/train_log.jsonl";
  check(fs::exists(path), "{}: no training log (is {} a directory written by elab train?)", path, run_dir);
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& [number, line] : read_lines(path)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    check(!j.is_discarded() && j.is_object() && j.contains("step") && j["step"].is_number(),
          "{}:{}: not a training log line (a JSON object with 'step')", path, number);
    entries.push_back(std::move(j));
  }
  check(!entries.empty(), "{}: no steps logged", path);
  return run_curves_from_entries(entries, path);
}

RunCurves run_curves_from_entries(const nlohmann::json& entries, const std::string& where) {
  Curve train{"train loss"}, heldout{"held-out loss"};
  std::map<std::string, Curve> accuracy, answer_loss;  // by eval task
  std::vector<std::string> order;                      // eval tasks as they first appear
  check(entries.is_array(), "{}: expected a list of training log entries", where);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& j = entries[i];
    check(j.is_object() && j.contains("step") && j["step"].is_number(), "{}: entry {} has no step", where, i + 1);
    const double step = j["step"].get<double>();
    if (j.contains("loss") && j["loss"].is_number()) train.steps.push_back(step), train.values.push_back(j["loss"]);
    if (j.contains("heldout_loss") && j["heldout_loss"].is_number())
      heldout.steps.push_back(step), heldout.values.push_back(j["heldout_loss"]);
    if (!j.contains("evals") || !j["evals"].is_object()) continue;
    for (const auto& [name, e] : j["evals"].items()) {
      check(e.is_object() && e.contains("accuracy") && e["accuracy"].is_number(), "{}: step {}: evals.{} has no accuracy",
            where, step, name);
      if (!accuracy.count(name)) order.push_back(name);
      Curve& a = accuracy[name];
      a.name = name + " accuracy";
      a.steps.push_back(step);
      a.values.push_back(e["accuracy"]);
      const bool ci = e.contains("ci95") && e["ci95"].is_array() && e["ci95"].size() == 2;
      a.lo.push_back(ci ? e["ci95"][0].get<double>() : a.values.back());
      a.hi.push_back(ci ? e["ci95"][1].get<double>() : a.values.back());
      if (e.contains("answer_loss") && e["answer_loss"].is_number()) {
        Curve& l = answer_loss[name];
        l.name = name + " answer loss";
        l.steps.push_back(step);
        l.values.push_back(e["answer_loss"]);
      }
    }
  }
  RunCurves out;
  if (!train.steps.empty()) out.losses.push_back(train);
  if (!heldout.steps.empty()) out.losses.push_back(heldout);
  for (const auto& name : order) {
    if (answer_loss.count(name)) out.losses.push_back(answer_loss[name]);
    out.accuracies.push_back(accuracy[name]);
  }
  return out;
}

// The first step at which the curve reaches `level` going from start to end
// (interpolated between logged points); the last step if it never does.
static double first_crossing(const Curve& c, double level, bool rising) {
  for (size_t k = 0; k < c.values.size(); ++k) {
    const bool past = rising ? c.values[k] >= level : c.values[k] <= level;
    if (!past) continue;
    if (k == 0) return c.steps[0];
    const double y0 = c.values[k - 1], y1 = c.values[k];
    const double t = y1 == y0 ? 1.0 : (level - y0) / (y1 - y0);
    return c.steps[k - 1] + std::clamp(t, 0.0, 1.0) * (c.steps[k] - c.steps[k - 1]);
  }
  return c.steps.back();
}

Transition find_transition(const Curve& c, double min_change) {
  Transition t;
  const size_t n = c.values.size();
  if (n < 4) return t;
  const size_t k = std::min<size_t>(3, n / 2);
  for (size_t i = 0; i < k; ++i) t.start += c.values[i] / double(k), t.end += c.values[n - 1 - i] / double(k);
  if (std::fabs(t.end - t.start) < min_change) return t;
  const bool rising = t.end > t.start;
  auto at = [&](double f) { return first_crossing(c, t.start + f * (t.end - t.start), rising); };
  t.found = true;
  t.step = at(0.5);
  t.width = at(0.8) - at(0.2);
  t.plateau_step = at(0.95);
  return t;
}

namespace {

// One panel: curves against steps, y from the data (or [0, 1] for accuracies), each with
// its transition marked. Both panels share the step range [first, last].
std::string panel(const std::string& title, const std::vector<Curve>& curves, bool log_x, double first, double last,
                  bool unit_y, double y_offset, double min_change) {
  Chart chart;
  chart.title = title;
  chart.xlabel = log_x ? "step (log scale)" : "step";
  chart.log_x = log_x, chart.unit_y = unit_y, chart.ticks_at_data = false, chart.dots = false;
  chart.x_first = first, chart.x_last = last;
  chart.width = 960, chart.height = 280, chart.right = 420, chart.top = y_offset;
  for (const Curve& c : curves) {
    ChartSeries s{c.name, c.steps, c.values, c.lo, c.hi};
    const Transition t = find_transition(c, min_change);
    if (t.found) {
      s.mark_x = t.step;
      s.name += fmt::format(" (transition ~{}, width {})", short_number(std::round(t.step)), short_number(std::round(t.width)));
    }
    chart.series.push_back(std::move(s));
  }
  return chart_elements(chart);
}

}  // namespace

std::string run_curves_svg(const RunCurves& curves, const std::string& title) {
  double first = INFINITY, last = 0;
  for (const auto& c : curves.losses)
    for (double s : c.steps) first = std::min(first, std::max(s, 1.0)), last = std::max(last, s);
  for (const auto& c : curves.accuracies)
    for (double s : c.steps) first = std::min(first, std::max(s, 1.0)), last = std::max(last, s);
  const bool log_x = last / first > 100;
  const double H = 280;
  const int panels = (curves.losses.empty() ? 0 : 1) + (curves.accuracies.empty() ? 0 : 1);
  std::string s = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="960" height="{0}" viewBox="0 0 960 {0}" role="img">)",
                              H * panels + 30);
  s += fmt::format(R"(<rect width="960" height="{}" fill="white"/><text x="10" y="18" font-size="14" font-weight="bold">{}</text>)",
                   H * panels + 30, xml_escape(title));
  double y = 24;
  if (!std::isfinite(first)) first = 1, last = 2;
  if (!curves.losses.empty()) s += panel("Loss", curves.losses, log_x, first, last, false, y, 0.05), y += H;
  if (!curves.accuracies.empty()) s += panel("Accuracy (95% CI)", curves.accuracies, log_x, first, last, true, y, 0.1);
  return s + "</svg>\n";
}

}  // namespace elab
