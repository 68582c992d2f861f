// Question 3: how big must the model be? Accuracy against parameters per method, the
// continuous metrics beside exact match, and the thresholds at which chains win.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "core/progress.h"
#include "report/sections.h"

namespace elab {

// The direct-answer cell a chain method is compared with: the same number of exemplars
// (icl:K for cot:K, as Wei et al. 2022 compare few-shot prompting with and without
// chains), or zero-shot direct for cot:0 (and when icl:K was not evaluated).
static const Cell* direct_reference(const Cells& c, const Cell& chain) {
  if (chain.parsed.shots > 0)
    if (const Cell* icl = c.find(chain.preset, chain.recipe, "prompt", chain.task, chain.split, fmt::format("icl:{}", chain.parsed.shots)))
      return icl;
  return c.find(chain.preset, chain.recipe, "prompt", chain.task, chain.split, "direct");
}

// The smallest preset at which a CoT method beats direct answers on (recipe, task, id).
std::string cot_threshold_of(const Cells& c, const std::string& recipe, const std::string& task) {
  for (const auto& preset : c.presets)
    for (const auto& [k, x] : c.by_key) {
      if (x.preset != preset || x.recipe != recipe || x.task != task || x.split != "id" || x.adaptation != "prompt" ||
          !x.parsed.chain())
        continue;
      const Cell* direct = direct_reference(c, x);
      if (direct && same_items(x, *direct) && compare(x, *direct, c.seed).lo > 0) return preset;
    }
  return "";
}

static const char* kWei =
    "Wei et al. 2022 (chain of thought beats standard few-shot prompting only above a model scale; below it chains "
    "do not help or hurt); Lee et al. 2023 (step-by-step data makes arithmetic learnable by small transformers)";

std::string section_scale(const Cells& c, Doc& doc, std::vector<Finding>& findings) {
  std::string brief;
  // The heading, the answer and the forest plot come from the report (report.cpp).
  doc.para("Accuracy against parameters (log axis) per prompting method on the ID split, with the continuous metrics "
           "beside exact match: the gold answer's log-probability, per-character accuracy p, and p^L (L the gold "
           "answer's mean length): the exact match independent characters would give (Schaeffer et al. 2023). Where "
           "exact match jumps between presets and p^L jumps with it, the jump is the metric's. Emergence thresholds: "
           "the smallest preset at which a chain-of-thought method beats direct answers (paired bootstrap, CI above "
           "zero; cot:K against icl:K, the same exemplars without their chains, and cot:0 against direct), and the "
           "smallest preset whose CoT prompting beats the best fine-tuned model of the smallest preset.");
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
                           x->has_logprob ? fmt::format("{:.3f}", x->gold_logprob) : "-", pct(x->char_accuracy),
                           fmt::format("{:.3f} (L={:.1f})", x->em_from_chars(), x->gold_chars)});
          if (prev && x->accuracy - prev->accuracy >= 0.2) {
            // Schaeffer et al. 2023: a jump is the metric's when p^L accounts for it while p
            // itself moves much less; when p jumps too, the model changed.
            const double jump = x->accuracy - prev->accuracy, predicted = x->em_from_chars() - prev->em_from_chars();
            const double dp = x->char_accuracy - prev->char_accuracy;
            const bool tracks = std::abs(predicted - jump) <= 0.1;
            notes.push_back(fmt::format(
                "{}: exact match jumps {:+.2f} from {} to {}; per-character accuracy p moves {:+.2f}, and p^L {:+.2f}: {}", m,
                jump, prev->preset, preset, dp, predicted,
                tracks && dp < jump / 2 ? "the jump is the metric's: characters improving smoothly give it (Schaeffer et al. 2023)"
                : tracks                ? "p jumps too: the change is in the model, not only in the metric"
                                        : "p^L does not account for the jump"));
          }
          prev = x;
        }
        plot.push_back(s);
      }
      doc.heading(fmt::format("{} / {}", recipe, task), 3);
      doc.table({"method", "preset", "parameters", "accuracy [95% CI]", "gold log-prob", "char accuracy p", "p^L"}, table);
      // The emergence threshold, marked on the chain methods' curves: the smallest preset
      // whose CoT beats direct answers with the same exemplars.
      const std::string t = cot_threshold_of(c, recipe, task);
      if (!t.empty())
        for (auto& series : plot)
          if (parse_method(series.name).chain())
            if (const Cell* at = c.find(t, recipe, "prompt", task, "id", series.name)) series.mark_x = double(at->parameters);
      Chart chart;
      chart.title = t.empty() ? "" : "dashed: CoT threshold";
      chart.xlabel = "parameters (log)", chart.ylabel = "accuracy (id)";
      chart.series = plot, chart.log_x = true;
      doc.panel({recipe, task, chart});
      for (const auto& n : notes) doc.para("Note: " + n + ".");
      // CoT against direct answers at each preset; below an emergence threshold Wei et al.
      // find no gain or a loss, above it a gain, so a single preset's sign has no
      // published direction. The threshold itself is the change of that gain from one
      // preset to the next: a difference of paired differences, item by item.
      for (const auto& m : methods) {
        std::vector<double> previous_gain;
        std::string previous;
        const Cell *previous_x = nullptr, *previous_direct = nullptr;
        for (const auto& preset : c.presets) {
          const Cell* x = c.find(preset, recipe, "prompt", task, "id", m);
          const Cell* direct = x && x->parsed.chain() ? direct_reference(c, *x) : nullptr;
          if (!direct || !same_items(*x, *direct)) {
            previous_gain.clear();
            continue;
          }
          findings.push_back(cell_finding("Q3", "chain of thought beats direct answers (the same exemplars)",
                                          fmt::format("{} ({}) / {} / {} id: {} - {}", preset, human_count(double(x->parameters)),
                                                      recipe, task, m, direct->method),
                                          *x, *direct, compare(*x, *direct, c.seed), kWei, std::nullopt));
          std::vector<double> gain(x->items.size());
          for (size_t i = 0; i < gain.size(); ++i) gain[i] = x->items[i] - direct->items[i];
          if (previous_gain.size() == gain.size()) {
            // At the larger size both methods must work; below the threshold they may be at
            // their baselines (that is what emergence looks like), but must answer.
            Finding f = cell_finding("Q3", "the gain of chain of thought over direct answers grows with size (an emergence threshold)",
                                     fmt::format("{} / {} id: ({} - {}) at {} minus at {}", recipe, task, m, direct->method, preset, previous),
                                     *x, *direct, paired_bootstrap(gain, previous_gain, c.seed, 2000, x->seeds), kWei, +1);
            for (const Cell* below : {previous_x, previous_direct})
              if (f.invalid.empty()) f.invalid = cell_failure(*below, false);
            findings.push_back(f);
          }
          previous_x = x, previous_direct = direct;
          previous_gain = gain, previous = preset;
        }
      }
      bool has_cot = false;
      for (const Cell* x : cells) has_cot |= x->parsed.chain();  // the cells hold the parsed method
      // Direct answers: `direct`, or icl:K (the reference of cot:K, its exemplars without chains).
      const bool has_direct = std::any_of(methods.begin(), methods.end(), [](const std::string& m) { return !parse_method(m).chain(); });
      if (has_cot && has_direct)
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
