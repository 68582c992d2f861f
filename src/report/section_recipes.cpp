// Question 4: is scale the only factor? The pre-training recipes side by side at each
// preset, on chain-of-thought and in-context accuracy.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "report/sections.h"

namespace elab {

std::string section_recipes(const Cells& c, Doc& doc) {
  std::string brief;
  Tally recipes;
  doc.heading("4. Is scale the only factor?", 2);
  doc.para("At each preset, the pre-training recipes side by side on chain-of-thought and in-context accuracy (ID split).");
  std::vector<std::string> verdicts;
  if (c.recipes.size() < 2) {
    doc.verdict("Only one recipe was trained; nothing to compare.");
    brief = "Q4 recipes: only one recipe was trained.";
    return brief;
  }
  for (const auto& preset : c.presets) {
    std::vector<std::string> header = {"task", "method"};
    for (const auto& r : c.recipes) header.push_back(r);
    std::vector<std::vector<std::string>> rows;
    std::map<std::string, std::vector<double>> pooled;  // recipe -> items over every (task, method), same order
    bool complete = true;
    for (const auto& task : c.tasks) {
      std::set<std::string> methods;
      for (const auto& [k, x] : c.by_key)
        if (x.preset == preset && x.task == task && x.split == "id" && x.adaptation == "prompt" && (x.parsed.chain() || x.parsed.in_context()))
          methods.insert(x.method);
      for (const auto& m : methods) {
        std::vector<std::string> row = {task, m};
        for (const auto& r : c.recipes) {
          const Cell* x = c.find(preset, r, "prompt", task, "id", m);
          row.push_back(x ? acc_ci(*x) : "-");
          if (x) pooled[r].insert(pooled[r].end(), x->items.begin(), x->items.end());
          else complete = false;
        }
        rows.push_back(row);
      }
    }
    if (rows.empty()) continue;
    doc.heading("preset " + preset, 3);
    doc.table(header, rows);
    if (!complete) continue;
    const std::string reference = std::find(c.recipes.begin(), c.recipes.end(), "base") != c.recipes.end() ? "base" : c.recipes.front();
    for (const auto& r : c.recipes) {
      if (r == reference || pooled[r].size() != pooled[reference].size()) continue;
      const auto d = paired_bootstrap(pooled[r], pooled[reference], c.seed);
      recipes.add(d);
      verdicts.push_back(fmt::format("at {}, {}", preset, verdict_of("recipe " + r, "recipe " + reference, d)));
    }
  }
  const std::string v = verdicts.empty() ? std::string("No preset has every recipe evaluated with CoT or ICL.")
                                         : fmt::format("{} (CoT and ICL items pooled over tasks).", fmt::join(verdicts, "; "));
  doc.verdict(v);
  brief = fmt::format("Q4 recipes: against base, another recipe is better in {} of {} (preset, recipe) comparisons, worse in {}, "
                      "not enough evidence in {}.", recipes.first, recipes.total(), recipes.second, recipes.open);
  return brief;
}

}  // namespace elab
