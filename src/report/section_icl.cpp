// Question 1: is in-context learning a kind of supervised learning? Accuracy against
// the number of examples, in the prompt and in fine-tuning, and the label probes.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "report/sections.h"

namespace elab {

std::string section_icl_vs_supervised(const Cells& c, Doc& doc) {
  std::string brief;
  Tally same;
  doc.heading("1. Is in-context learning a kind of supervised learning?", 2);
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
            verdicts.push_back(fmt::format("{} {} on {}: with the same {} examples, {}", preset, recipe, task, n,
                                           verdict_of(x->adaptation, "icl:" + std::to_string(n), d)));
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
        doc.figure(accuracy_chart(fmt::format("{} {} {}: accuracy vs examples", preset, recipe, task), "examples (K or N, log)",
                            "accuracy (id)", plot, true));
      }
  // Label probes.
  std::vector<std::vector<std::string>> probe_rows;
  int resolved_down = 0, unresolved = 0;
  for (const auto& [k, x] : c.by_key) {
    if (x.adaptation != "prompt") continue;
    if (x.parsed.probe.empty()) continue;
    {
      const Cell* ref = c.find(x.preset, x.recipe, "prompt", x.task, x.split, x.parsed.unprobed);
      if (!ref || !same_items(*ref, x)) continue;
      auto d = compare(x, *ref, c.seed);
      (d.hi < 0 ? resolved_down : unresolved) += 1;
      probe_rows.push_back({x.preset, x.recipe, x.task, x.split, x.method, acc_ci(x), acc_ci(*ref), diff_ci(d)});
    }
  }
  if (!probe_rows.empty()) {
    doc.heading("Label probes", 3);
    doc.table({"preset", "recipe", "task", "split", "probe", "accuracy", "icl:K accuracy", "probe - icl:K"}, probe_rows);
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
