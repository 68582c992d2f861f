// Question 1: is in-context learning a kind of supervised learning? Accuracy against
// the number of examples, in the prompt and in fine-tuning, and the label probes.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "report/sections.h"

namespace elab {

static const char* kMosbach =
    "Mosbach et al. 2023 (few-shot fine-tuning and in-context learning generalise comparably, with large variance)";
static const char* kLabels =
    "Yoo et al. 2022 and Wei et al. 2023 (models that learn in context use the labels shown; the published sign here "
    "is theirs); Min et al. 2022 found random labels barely lower the accuracy of large pretrained models";

// The reference a label probe is compared with: the method without the probe, or, for a
// task's probe split (X-random-labels), split X with the same method.
static const Cell* probe_reference(const Cells& c, const Cell& x) {
  if (!x.parsed.probe.empty()) return c.find(x.preset, x.recipe, x.adaptation, x.task, x.split, x.parsed.unprobed);
  const std::string suffix = "-random-labels";
  if (x.split.size() > suffix.size() && x.split.compare(x.split.size() - suffix.size(), suffix.size(), suffix) == 0)
    return c.find(x.preset, x.recipe, x.adaptation, x.task, x.split.substr(0, x.split.size() - suffix.size()), x.method);
  return nullptr;
}

std::string section_icl_vs_supervised(const Cells& c, Doc& doc, std::vector<Finding>& findings) {
  std::string brief;
  Tally same;
  // The heading, the answer and the forest plot come from the report (report.cpp).
  doc.para("Accuracy against the number of labelled examples: K exemplars in the prompt (icl:K) and N fine-tuning "
           "examples drawn from the same pool (the K exemplars are the first K of the N), on the ID split; then the "
           "label probes against icl:K on the same items.");
  std::vector<std::string> verdicts;
  for (const auto& preset : c.presets)
    for (const auto& recipe : c.recipes)
      for (const auto& task : c.tasks) {
        auto ft = c.where([&](const Cell& x) {
          return x.preset == preset && x.recipe == recipe && x.task == task && x.split == "id" && x.method == "direct" &&
                 x.ft_task == task;
        });
        if (ft.empty()) continue;
        auto icl = c.where([&](const Cell& x) {
          return x.preset == preset && x.recipe == recipe && x.task == task && x.split == "id" && x.adaptation == "prompt" &&
                 (x.method == "direct" || x.parsed.in_context());
        });
        std::vector<std::vector<std::string>> rows;
        std::map<std::string, ChartSeries> series;
        for (const Cell* x : icl) {
          rows.push_back({"prompt " + x->method, std::to_string(x->parsed.shots), acc_ci(*x)});
          auto& s = series["icl"];
          s.name = "icl:K";
          s.x.push_back(x->parsed.shots), s.y.push_back(x->accuracy), s.lo.push_back(x->lo), s.hi.push_back(x->hi);
        }
        for (const Cell* x : ft) {
          const int64_t n = x->n_train;
          const std::string& m = x->ft_method;
          rows.push_back({x->adaptation, std::to_string(n), acc_ci(*x)});
          auto& s = series[m];
          s.name = "ft:" + m;
          s.x.push_back(double(n)), s.y.push_back(x->accuracy), s.lo.push_back(x->lo), s.hi.push_back(x->hi);
          // The same-examples comparison: N = K.
          if (const Cell* icl_n = c.find(preset, recipe, "prompt", task, "id", fmt::format("icl:{}", n)); icl_n && same_items(*icl_n, *x)) {
            const auto d = compare(*x, *icl_n, c.seed);
            same.add(d);
            findings.push_back(cell_finding("Q1", "fine-tuning on N examples beats in-context learning with the same N",
                                            fmt::format("{} / {} / {} id: {} - icl:{}", preset, recipe, task, x->adaptation, n),
                                            *x, *icl_n, d, kMosbach, 0, MustWork::both, kMosbachMargin));
            require_moved(c, *x, findings.back());
            verdicts.push_back(fmt::format("{} {} on {}: with the same {} examples, {}{}", preset, recipe, task, n,
                                           verdict_of(x->adaptation, "icl:" + std::to_string(n), d), not_counted(findings.back())));
          }
        }
        for (auto& [name, s] : series) {  // points in x order
          std::vector<size_t> order(s.x.size());
          std::iota(order.begin(), order.end(), 0);
          std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
          ChartSeries t{s.name, {}, {}, {}, {}};
          for (size_t i : order) t.x.push_back(s.x[i]), t.y.push_back(s.y[i]), t.lo.push_back(s.lo[i]), t.hi.push_back(s.hi[i]);
          s = t;
        }
        doc.heading(fmt::format("{} / {} / {}", preset, recipe, task), 3);
        doc.table({"adaptation", "examples", "accuracy [95% CI]"}, rows);
        std::vector<ChartSeries> plot;
        for (auto& [name, s] : series) plot.push_back(s);
        Chart chart;
        chart.xlabel = "examples (K or N, log)", chart.ylabel = "accuracy (id)";
        chart.series = plot, chart.log_x = true;
        doc.panel({recipe + " / " + task, preset, chart});
      }
  // Label probes.
  std::vector<std::vector<std::string>> probe_rows;
  int resolved_down = 0, unresolved = 0;
  for (const auto& [k, x] : c.by_key) {
    if (x.adaptation != "prompt") continue;
    const Cell* ref = probe_reference(c, x);
    if (!ref || !same_items(*ref, x)) continue;
    auto d = compare(x, *ref, c.seed);
    (d.hi < 0 ? resolved_down : unresolved) += 1;
    const std::string probe = x.parsed.probe.empty() ? x.split : x.method;
    probe_rows.push_back({x.preset, x.recipe, x.task, x.split, probe, acc_ci(x), acc_ci(*ref), diff_ci(d)});
    findings.push_back(cell_finding("Q1", "corrupting the labels shown in context changes accuracy (negative: the labels are used)",
                                    fmt::format("{} / {} / {}: {} - {} {}", x.preset, x.recipe, x.task, probe, ref->split, ref->method),
                                    x, *ref, d, kLabels, -1, MustWork::b_only));
  }
  if (!probe_rows.empty()) {
    doc.heading("Label probes", 3);
    doc.para("A probe method (icl:K:random-labels, ...) against icl:K on the same items, and a task's probe split "
             "(X-random-labels: the problems of split X with random labels in context) against split X, item for item.");
    doc.table({"preset", "recipe", "task", "split", "probe", "accuracy", "reference accuracy", "probe - reference"}, probe_rows);
  }
  std::string v;
  if (verdicts.empty()) v = "No fine-tuning run shares its examples with an icl:K run here (add icl:K with K in n_train).";
  else v = fmt::format("{}.", fmt::join(verdicts, "; "));
  if (!probe_rows.empty())
    v += resolved_down > 0
             ? fmt::format(" Corrupting the labels lowers ICL accuracy in {} of {} probes: the labels are used, as in supervised learning.",
                           resolved_down, probe_rows.size())
             : fmt::format(" In none of {} probes does corrupting the labels measurably lower ICL accuracy (not enough evidence of "
                           "an effect): unlike supervised learning, the demonstrations' format carries more than their labels.",
                           probe_rows.size());
  doc.verdict(v);
  brief = fmt::format("Q1 ICL vs supervised: with the same K examples, fine-tuning beats icl:K in {} of {} comparisons, "
                      "icl:K wins {}, not enough evidence in {}; corrupted labels lower ICL accuracy in {} of {} probes.",
                      same.first, same.total(), same.second, same.open, resolved_down, probe_rows.size());
  return brief;
}

}  // namespace elab
