// Question 3: how big must the model be? Accuracy against parameters per method, the
// continuous metrics beside exact match, and the thresholds at which chains win.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "report/sections.h"

namespace elab {

// The smallest preset at which a CoT method beats direct on (recipe, task, id).
std::string cot_threshold_of(const Cells& c, const std::string& recipe, const std::string& task) {
  for (const auto& preset : c.presets) {
    const Cell* direct = c.find(preset, recipe, "prompt", task, "id", "direct");
    if (!direct) continue;
    for (const auto& [k, x] : c.by_key)
      if (x.preset == preset && x.recipe == recipe && x.task == task && x.split == "id" && x.adaptation == "prompt" &&
          x.parsed.chain() && same_items(x, *direct) && compare(x, *direct, c.seed).lo > 0)
        return preset;
  }
  return "";
}

std::string section_scale(const Cells& c, Doc& doc) {
  std::string brief;
  doc.heading("3. How big must the model be?", 2);
  doc.para("Accuracy against parameters (log axis) per prompting method on the ID split, with the continuous metrics "
           "beside exact match: the gold answer's log-probability and per-character accuracy. Emergence thresholds: "
           "the smallest preset at which a chain-of-thought method beats direct answers (paired bootstrap, CI above "
           "zero), and the smallest preset whose CoT prompting beats the best fine-tuned model of the smallest preset.");
  std::vector<std::string> verdicts;
  for (const auto& recipe : c.recipes)
    for (const auto& task : c.tasks) {
      auto cells = c.where([&](const Cell& x) { return x.recipe == recipe && x.task == task && x.split == "id" && x.adaptation == "prompt"; });
      if (cells.empty()) continue;
      std::set<std::string> methods;
      for (const Cell* x : cells) methods.insert(x->method);
      std::vector<ChartSeries> plot;
      std::vector<std::vector<std::string>> table;
      std::vector<std::string> notes;
      for (const auto& m : methods) {
        ChartSeries s{m, {}, {}, {}, {}};
        const Cell* prev = nullptr;
        for (const auto& preset : c.presets) {
          const Cell* x = c.find(preset, recipe, "prompt", task, "id", m);
          if (!x) continue;
          s.x.push_back(double(x->parameters)), s.y.push_back(x->accuracy), s.lo.push_back(x->lo), s.hi.push_back(x->hi);
          table.push_back({m, preset, std::to_string(x->parameters), acc_ci(*x),
                           x->has_logprob ? fmt::format("{:.3f}", x->gold_logprob) : "-", pct(x->char_accuracy)});
          if (prev && x->accuracy - prev->accuracy >= 0.2 && (x->char_accuracy - prev->char_accuracy) < (x->accuracy - prev->accuracy) / 2)
            notes.push_back(fmt::format("{}: exact match jumps {:+.2f} from {} to {} while per-character accuracy moves only "
                                        "{:+.2f} (gold log-prob {:.2f} -> {:.2f}): the jump is sharper in the metric than in the model",
                                        m, x->accuracy - prev->accuracy, prev->preset, preset,
                                        x->char_accuracy - prev->char_accuracy, prev->gold_logprob, x->gold_logprob));
          prev = x;
        }
        plot.push_back(s);
      }
      doc.heading(fmt::format("{} / {}", recipe, task), 3);
      doc.table({"method", "preset", "parameters", "accuracy [95% CI]", "gold log-prob", "char accuracy"}, table);
      doc.figure(accuracy_chart(fmt::format("{} {}: accuracy vs parameters", recipe, task), "parameters (log)", "accuracy (id)", plot, true));
      for (const auto& n : notes) doc.para("Note: " + n + ".");
      const std::string t = cot_threshold_of(c, recipe, task);
      bool has_cot = false;
      for (const Cell* x : cells) has_cot |= x->parsed.chain();  // the cells hold the parsed method
      if (has_cot && methods.count("direct"))
        verdicts.push_back(t.empty() ? fmt::format("{} {}: CoT does not beat direct answers at any preset here", recipe, task)
                                     : fmt::format("{} {}: CoT first beats direct answers at preset {}", recipe, task, t));
      // CoT prompting vs the best fine-tuned model of the smallest preset.
      const std::string& smallest = c.presets.front();
      const Cell* best_ft = nullptr;
      for (const auto& [k, x] : c.by_key)
        if (x.preset == smallest && x.recipe == recipe && x.task == task && x.split == "id" && x.ft_task == task &&
            x.method == "direct" && (!best_ft || x.accuracy > best_ft->accuracy))
          best_ft = &x;
      if (best_ft && has_cot) {
        std::string first;
        for (const auto& preset : c.presets) {
          for (const auto& m : methods) {
            const Cell* x = c.find(preset, recipe, "prompt", task, "id", m);
            if (x && x->parsed.chain() && same_items(*x, *best_ft) && compare(*x, *best_ft, c.seed).lo > 0) first = preset;
          }
          if (!first.empty()) break;
        }
        verdicts.push_back(first.empty()
                               ? fmt::format("{} {}: no preset's CoT prompting beats the best fine-tuned {} ({} {:.3f})", recipe, task,
                                             smallest, best_ft->adaptation, best_ft->accuracy)
                               : fmt::format("{} {}: CoT prompting at {} is the smallest to beat the best fine-tuned {} ({} {:.3f})",
                                             recipe, task, first, smallest, best_ft->adaptation, best_ft->accuracy));
      }
    }
  const std::string v = verdicts.empty() ? std::string("No task was evaluated with both direct answers and a CoT method.")
                                         : fmt::format("{}.", fmt::join(verdicts, "; "));
  doc.verdict(v);
  brief = "Q3 how big: " + v;
  return brief;
}

}  // namespace elab
