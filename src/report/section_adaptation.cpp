// Question 2: prompting or fine-tuning, on the same base and the same examples, in and
// out of distribution, and in-context learning kept after fine-tuning.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "report/sections.h"

namespace elab {

static const char* kMosbach =
    "Mosbach et al. 2023 (few-shot fine-tuning and in-context learning generalise comparably in and out of "
    "distribution, with large variance)";
static const char* kKotha =
    "Kotha et al. 2023 (fine-tuning lowers in-context ability on other tasks); Biderman et al. 2024 (LoRA forgets less)";

static const char* kLampinen =
    "Lampinen et al. 2025 (from the same fictional facts, in-context learning generalises to reversals and syllogisms "
    "better than fine-tuning, and fine-tuning on the facts plus their inferences closes the gap); Berglund et al. 2023 "
    "(the reversal curse)";

static const char* kBornschein =
    "Bornschein et al. 2025 (fine-tuning on k-shot prompts, then prompting, matches and often exceeds both in-context "
    "learning and plain fine-tuning on the same examples)";

// "facts:world=2,augmented=1" -> "facts:world=2"; "facts:augmented=self" -> "facts".
static std::string without_augmentation(const std::string& task) {
  const auto colon = task.find(':');
  if (colon == std::string::npos) return task;
  std::vector<std::string> kept;
  size_t at = colon + 1;
  while (at <= task.size()) {
    size_t end = task.find(',', at);
    if (end == std::string::npos) end = task.size();
    const std::string option = task.substr(at, end - at);
    if (option.rfind("augmented=", 0) != 0 && !option.empty()) kept.push_back(option);
    at = end + 1;
  }
  return kept.empty() ? task.substr(0, colon) : fmt::format("{}:{}", task.substr(0, colon), fmt::join(kept, ","));
}

// A model fine-tuned on k-shot prompts (train_shots; report/cells.cpp names it "ft:M:N+Kshot").
static bool k_shot_tuned(const Cell& c) { return c.ft_shots > 0; }

// Fictional facts (tasks/facts.cpp): the same facts in context or fine-tuned on, scored
// by likelihood on both sides (mc:N shows the N facts; the fine-tuned model answers
// with mc:0), on the reversed and composed questions; and the augmented fine-tuning
// against fine-tuning on the facts alone.
static void facts_findings(const Cells& c, Doc& doc, std::vector<Finding>& findings, std::vector<std::string>& verdicts) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, x] : c.by_key) {
    if (x.adaptation == "prompt" || x.ft_task != x.task || x.task.rfind("facts", 0) != 0 || x.split == "id") continue;
    if (!x.parsed.likelihood || x.parsed.shots != 0 || k_shot_tuned(x)) continue;
    const std::string plain = without_augmentation(x.task);
    const bool augmented = plain != x.task;
    const std::string arm = !augmented ? "" : x.task.find("augmented=self") != std::string::npos ? " (augmented, own inferences)" : " (augmented)";
    // In context: the plain world's facts, all of them (the most shots scored by likelihood).
    const Cell* icl = nullptr;
    for (const Cell* p : c.where([&](const Cell& y) {
           return y.preset == x.preset && y.recipe == x.recipe && y.adaptation == "prompt" && y.task == plain &&
                  y.split == x.split && y.parsed.likelihood && y.parsed.shots > 0;
         }))
      if (!icl || p->parsed.shots > icl->parsed.shots) icl = p;
    if (icl && same_items(*icl, x)) {
      const auto d = compare(*icl, x, c.seed);
      findings.push_back(cell_finding("Q2",
                                      augmented ? "fine-tuning on the facts and their inferences generalises as well as in-context learning"
                                                : "in-context learning generalises better than fine-tuning from the same facts",
                                      fmt::format("{} / {} {}: {} - {}{}", x.preset, plain, x.split, cell_label(*icl), cell_label(x), arm),
                                      *icl, x, d, kLampinen, augmented ? 0 : 1, MustWork::better,
                                      augmented ? std::optional<double>(kMosbachMargin) : std::nullopt));
      rows.push_back({x.preset, x.split, cell_label(*icl), acc_ci(*icl), cell_label(x) + arm,
                      acc_ci(x), diff_ci(d), findings.back().counts() ? "yes" : findings.back().invalid});
      verdicts.push_back(fmt::format("{} facts {}: {}{}", x.preset, x.split,
                                     verdict_of("in context (" + cell_label(*icl) + ")", "fine-tuned (" + cell_label(x) + ")", d),
                                     not_counted(findings.back())));
    }
    if (!augmented) continue;
    // Augmented against plain fine-tuning, the same method, both answering with mc:0.
    for (const Cell* p : c.where([&](const Cell& y) {
           return y.preset == x.preset && y.recipe == x.recipe && y.ft_method == x.ft_method && y.task == plain &&
                  y.ft_task == plain && y.split == x.split && y.method == x.method && !k_shot_tuned(y);
         }))
      if (same_items(*p, x)) {
        const auto d = compare(x, *p, c.seed);
        findings.push_back(cell_finding("Q2", "fine-tuning on the facts and their inferences generalises better than on the facts alone",
                                        fmt::format("{} / {} {}: {}{} - {}", x.preset, plain, x.split, cell_label(x), arm, cell_label(*p)),
                                        x, *p, d, kLampinen, 1, MustWork::better));
        rows.push_back({x.preset, x.split, cell_label(*p), acc_ci(*p), cell_label(x) + arm, acc_ci(x), diff_ci(d),
                        findings.back().counts() ? "yes" : findings.back().invalid});
      }
  }
  // Fine-tuned on k-shot prompts, then prompted with the facts (Bornschein et al. 2025):
  // against the same prompt on the base, and against plain fine-tuning answering alone.
  for (const auto& [k, x] : c.by_key) {
    if (!k_shot_tuned(x) || x.ft_task != x.task || x.task.rfind("facts", 0) != 0 || x.split == "id") continue;
    if (!x.parsed.likelihood || x.parsed.shots == 0) continue;
    for (const Cell* p : c.where([&](const Cell& y) {
           const bool icl = y.adaptation == "prompt" && y.method == x.method;
           const bool tuned = y.ft_method == x.ft_method && y.ft_task == x.task && !k_shot_tuned(y) &&
                              y.parsed.likelihood && y.parsed.shots == 0;
           return y.preset == x.preset && y.recipe == x.recipe && y.task == x.task && y.split == x.split && (icl || tuned);
         })) {
      if (!same_items(*p, x)) continue;
      const auto d = compare(x, *p, c.seed);
      findings.push_back(cell_finding("Q2",
                                      fmt::format("fine-tuning on k-shot prompts, then prompting, generalises better than {}",
                                                  p->adaptation == "prompt" ? "prompting alone" : "plain fine-tuning"),
                                      fmt::format("{} / {} {}: {} - {}", x.preset, x.task, x.split, cell_label(x), cell_label(*p)),
                                      x, *p, d, kBornschein, 1, MustWork::better));
      rows.push_back({x.preset, x.split, cell_label(*p), acc_ci(*p), cell_label(x) + " (k-shot fine-tuned)", acc_ci(x),
                      diff_ci(d), findings.back().counts() ? "yes" : findings.back().invalid});
      verdicts.push_back(fmt::format("{} facts {}: {}{}", x.preset, x.split,
                                     verdict_of("k-shot fine-tuned (" + cell_label(x) + ")", cell_label(*p), d),
                                     not_counted(findings.back())));
    }
  }
  if (rows.empty()) return;
  doc.heading("Fictional facts: in context against fine-tuned (Lampinen et al. 2025)", 3);
  doc.para("The same facts, shown in context (mc:N, all N facts) or fine-tuned on (answering with mc:0), asked reversed "
           "and composed; both sides scored by the likelihood of the two options. Published direction: in context better "
           "than fine-tuned on the facts alone, and the augmented fine-tuning (facts plus their inferences) about as good "
           "as in context (an equivalence within the margin). \"augmented\" trains on the true inferences (an oracle); "
           "\"augmented, own inferences\" on the base's own answers to them with the facts in context (Lampinen et al.'s "
           "form). A model fine-tuned on k-shot prompts (each fact after others) and then prompted with the facts is "
           "Bornschein et al. 2025's fine-tuned in-context learner.");
  doc.table({"model", "split", "a", "a accuracy", "b", "b accuracy", "a - b", "counts"}, rows);
}

// One panel of the section's figure: accuracy against the number of examples, in
// context (K shown) and fine-tuned (N trained on, answering alone), on each split. Of
// several fine-tuning methods at one N, the best.
static Chart examples_chart(const std::vector<const Cell*>& cells, const std::vector<std::string>& splits) {
  std::map<std::string, std::map<double, const Cell*>> series;  // "icl id" -> x -> cell
  for (const Cell* x : cells) {
    const bool tuned = x->adaptation != "prompt";
    if (tuned ? x->parsed.shots != 0 : !(x->parsed.shots > 0 && (x->parsed.in_context() || x->parsed.likelihood))) continue;
    const double at = tuned ? double(x->n_train) : double(x->parsed.shots);
    const Cell*& slot = series[(tuned ? "ft " : "icl ") + x->split][at];
    if (!slot || x->accuracy > slot->accuracy) slot = x;
  }
  Chart chart;
  chart.xlabel = "examples (K or N, log)";
  chart.log_x = true;
  for (const char* route : {"icl ", "ft "})
    for (const auto& split : splits) {
      auto it = series.find(route + split);
      if (it == series.end()) continue;
      ChartSeries line{it->first, {}, {}, {}, {}};
      for (const auto& [at, x] : it->second)
        line.x.push_back(at), line.y.push_back(x->accuracy), line.lo.push_back(x->lo), line.hi.push_back(x->hi);
      chart.series.push_back(line);
    }
  return chart;
}

std::string section_prompting_vs_finetuning(const Cells& c, Doc& doc, std::vector<Finding>& findings) {
  std::string brief;
  Tally id_tally, ood_tally;
  // The heading, the answer and the forest plot come from the report (report.cpp).
  doc.para("Per base model and task: every prompting method and every fine-tuned model (evaluated zero-shot and with "
           "the listed methods) on the ID split and each OOD split, with 95% CIs; the ID minus OOD gap; and in-context "
           "learning on other tasks after fine-tuning (retention). The protocol: fine-tuning trains on all N examples, the "
           "same N that icl:N shows (icl:K's K are the first K of them); its number of steps is chosen by k-fold "
           "cross-validation within the N and refit on all N (k = 4 unless the study's [[finetune]] sets folds; with "
           "folds = 1 it runs the block's fixed steps, with no selection), at learning rates chosen on training "
           "examples (docs/FINETUNING.md); no test item chooses anything.");
  std::vector<std::string> verdicts;
  for (const auto& preset : c.presets)
    for (const auto& recipe : c.recipes)
      for (const auto& task : c.tasks) {
        auto cells = c.where([&](const Cell& x) {
          return x.preset == preset && x.recipe == recipe && x.task == task && (x.adaptation == "prompt" || x.ft_task == task);
        });
        bool has_ft = false;
        for (const Cell* x : cells) has_ft |= x->ft_task == task;
        // Only tasks that were fine-tuned on belong here (retention rows come below).
        std::set<std::string> variants;
        for (const Cell* x : cells) variants.insert(x->adaptation + " " + x->method);
        if (!has_ft) continue;
        std::vector<std::string> splits;
        for (const auto& s : c.splits)
          for (const Cell* x : cells)
            if (x->split == s) {
              splits.push_back(s);
              break;
            }
        std::vector<std::string> header = {"model", "method"};
        for (const auto& s : splits) header.push_back(s);
        if (splits.size() > 1) header.push_back("id - " + splits[1]);
        std::vector<std::vector<std::string>> rows;
        const Cell *best_prompt_id = nullptr, *best_ft_id = nullptr;
        std::map<std::string, std::pair<const Cell*, const Cell*>> best_ood;  // split -> (prompt, ft)
        for (const auto& v : variants) {
          const std::string adaptation = v.substr(0, v.find(' ')), method = v.substr(v.find(' ') + 1);
          std::vector<std::string> row = {adaptation, method};
          const Cell *id = nullptr, *first_ood = nullptr;
          for (const auto& s : splits) {
            const Cell* x = c.find(preset, recipe, adaptation, task, s, method);
            row.push_back(x ? acc_ci(*x) : "-");
            if (!x) continue;
            if (s == "id") id = x;
            else if (!first_ood) first_ood = x;
            auto& slot = s == "id" ? (adaptation == "prompt" ? best_prompt_id : best_ft_id)
                                   : (adaptation == "prompt" ? best_ood[s].first : best_ood[s].second);
            if (!slot || x->accuracy > slot->accuracy) slot = x;
          }
          if (splits.size() > 1) row.push_back(id && first_ood ? fmt::format("{:+.3f}", id->accuracy - first_ood->accuracy) : "-");
          rows.push_back(row);
        }
        doc.heading(fmt::format("{} / {} / {}", preset, recipe, task), 3);
        doc.table(header, rows);
        doc.panel({recipe + " / " + task, preset, examples_chart(cells, splits)});
        auto name = [](const Cell* x) { return cell_label(*x); };
        if (best_prompt_id && best_ft_id && same_items(*best_prompt_id, *best_ft_id)) {
          const auto d = compare(*best_ft_id, *best_prompt_id, c.seed);
          id_tally.add(d);
          findings.push_back(cell_finding("Q2", "fine-tuning beats prompting in distribution (best of each)",
                                          fmt::format("{} / {} / {} id: {} - {}", preset, recipe, task, name(best_ft_id), name(best_prompt_id)),
                                          *best_ft_id, *best_prompt_id, d, kMosbach, 0, MustWork::both, kMosbachMargin));
          require_moved(c, *best_ft_id, findings.back());
          verdicts.push_back(fmt::format("{} {} {} id: {}{}", preset, recipe, task,
                                         verdict_of("fine-tuning (" + name(best_ft_id) + ")", "prompting (" + name(best_prompt_id) + ")", d),
                                         not_counted(findings.back())));
        }
        for (const auto& [split, pair] : best_ood)
          if (pair.first && pair.second && same_items(*pair.first, *pair.second)) {
            const auto d = compare(*pair.second, *pair.first, c.seed);
            ood_tally.add(d);
            findings.push_back(cell_finding("Q2", "fine-tuning beats prompting out of distribution (best of each)",
                                            fmt::format("{} / {} / {} {}: {} - {}", preset, recipe, task, split, name(pair.second), name(pair.first)),
                                            *pair.second, *pair.first, d, kMosbach, 0, MustWork::both, kMosbachMargin));
            require_moved(c, *pair.second, findings.back());
            verdicts.push_back(fmt::format("{} {} {} {}: {}{}", preset, recipe, task, split,
                                           verdict_of("fine-tuning (" + name(pair.second) + ")", "prompting (" + name(pair.first) + ")", d),
                                           not_counted(findings.back())));
          }
      }
  facts_findings(c, doc, findings, verdicts);
  // Retention: a fine-tuned model's ICL on a task it was not tuned on, against its base.
  std::vector<std::vector<std::string>> rows;
  int lost = 0, kept = 0;
  for (const auto& [k, x] : c.by_key) {
    if (x.adaptation == "prompt" || x.ft_task == x.task) continue;  // every cell of another task is a retention cell
    const Cell* base = c.find(x.preset, x.recipe, "prompt", x.task, x.split, x.method);
    if (!base || !same_items(*base, x)) continue;
    auto d = compare(x, *base, c.seed);
    (d.hi < 0 ? lost : kept) += 1;
    findings.push_back(cell_finding("Q2", "fine-tuning on one task changes in-context learning on another (negative: it is lost)",
                                    fmt::format("{} / {} / {} {} {}: after - before", x.preset, x.recipe, x.adaptation, x.task, x.method),
                                    x, *base, d, kKotha, -1, MustWork::b_only));
    rows.push_back({x.preset, x.recipe, x.adaptation, x.task, x.method, acc_ci(*base), acc_ci(x), diff_ci(d)});
  }
  if (!rows.empty()) {
    doc.heading("ICL retention after fine-tuning", 3);
    doc.table({"preset", "recipe", "fine-tuned", "other task", "method", "base", "after fine-tuning", "change"}, rows);
    verdicts.push_back(fmt::format("in-context learning on other tasks measurably drops in {} of {} fine-tuned models", lost, rows.size()));
  }
  const std::string v = verdicts.empty() ? std::string("No base model has both prompting and fine-tuning results on the same items.")
                                         : fmt::format("{}.", fmt::join(verdicts, "; "));
  doc.verdict(v);
  brief = fmt::format("Q2 prompting vs fine-tuning (best of each): in distribution fine-tuning wins {} of {}, prompting {}, "
                      "not enough evidence {}; out of distribution fine-tuning wins {} of {}, prompting {}, not enough evidence {}; "
                      "ICL on other tasks drops after fine-tuning in {} of {} models.",
                      id_tally.first, id_tally.total(), id_tally.second, id_tally.open, ood_tally.first, ood_tally.total(),
                      ood_tally.second, ood_tally.open, lost, rows.size());
  return brief;
}

}  // namespace elab
