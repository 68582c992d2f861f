// Question 4: is scale the only factor? The pre-training recipes side by side at each
// preset, cell by cell (task, split, prompting method), beside what scale does to the
// same cell: the effect of the data against the effect of size.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "report/sections.h"

namespace elab {

static const char* kData =
    "Chan et al. 2022 (bursty training data, not scale alone, makes in-context learning emerge; i.i.d. data makes "
    "in-weights learning); Wei et al. 2022 and Fu et al. 2022 (rationale and code data matter beside scale)";

// The direction Chan et al. 2022 report for bursty against i.i.d. data on a split of
// in-context classification: in-context learning up, in-weights learning down; none for
// other cells and other recipes.
static std::optional<int> published_data_sign(const std::string& recipe, const std::string& reference,
                                              const std::string& task, const std::string& split) {
  if (recipe.find("bursty") == std::string::npos || reference.find("iid") == std::string::npos ||
      task.rfind("iclass", 0) != 0)
    return std::nullopt;
  if (split == "ood-novel" || split == "ood-swapped") return +1;
  if (split == "ood-weights") return -1;
  return std::nullopt;
}
static const char* kScale = "Kaplan et al. 2020; Wei et al. 2022 (abilities grow with scale)";

// The recipe others are compared with: "base" when trained, else a control named "iid",
// else the first.
static std::string reference_recipe(const std::vector<std::string>& recipes) {
  for (const auto& r : recipes)
    if (r == "base") return r;
  for (const auto& r : recipes)
    if (r.find("iid") != std::string::npos) return r;
  return recipes.front();
}

std::string section_recipes(const Cells& c, Doc& doc, std::vector<Finding>& findings) {
  Tally recipes, scale;
  // The heading, the answer and the forest plot come from the report (report.cpp).
  if (c.recipes.size() < 2) {
    doc.para("The pre-training recipes side by side at each preset.");
    doc.verdict("Only one recipe was trained; nothing to compare.");
    return "Q4 recipes: only one recipe was trained.";
  }
  const std::string reference = reference_recipe(c.recipes);
  doc.para(fmt::format("At each preset, every recipe against {} on each prompting cell (task, split, method) both were "
                       "evaluated on, paired over the same test items; then, on the same cells, the smallest preset "
                       "against the largest within each recipe: the effect of the data beside the effect of size.",
                       reference));
  std::vector<std::string> verdicts;
  // Prompting cells by (task, split, method).
  std::set<std::tuple<std::string, std::string, std::string>> cells;
  for (const auto& [k, x] : c.by_key)
    if (x.adaptation == "prompt") cells.insert({x.task, x.split, x.method});
  // The figure: each recipe's accuracy against parameters, a panel per method and task (id).
  for (const auto& [task, split, method] : cells) {
    if (split != "id") continue;
    Chart chart;
    chart.xlabel = "parameters (log)";
    chart.log_x = true;
    for (const auto& r : c.recipes) {
      ChartSeries line{r, {}, {}, {}, {}};
      for (const auto& preset : c.presets)
        if (const Cell* x = c.find(preset, r, "prompt", task, split, method))
          line.x.push_back(double(x->parameters)), line.y.push_back(x->accuracy), line.lo.push_back(x->lo),
              line.hi.push_back(x->hi);
      if (!line.x.empty()) chart.series.push_back(line);
    }
    if (chart.series.size() >= 2) doc.panel({method, task, chart});
  }
  for (const auto& preset : c.presets) {
    std::vector<std::string> header = {"task", "split", "method"};
    for (const auto& r : c.recipes) header.push_back(r);
    for (const auto& r : c.recipes)
      if (r != reference) header.push_back(r + " - " + reference);
    std::vector<std::vector<std::string>> rows;
    for (const auto& [task, split, method] : cells) {
      const Cell* ref = c.find(preset, reference, "prompt", task, split, method);
      if (!ref) continue;
      std::vector<std::string> row = {task, split, method};
      for (const auto& r : c.recipes) {
        const Cell* x = c.find(preset, r, "prompt", task, split, method);
        row.push_back(x ? acc_ci(*x) : "-");
      }
      for (const auto& r : c.recipes) {
        if (r == reference) continue;
        const Cell* x = c.find(preset, r, "prompt", task, split, method);
        if (!x || !same_items(*x, *ref)) {
          row.push_back("-");
          continue;
        }
        const auto d = compare(*x, *ref, c.seed);
        recipes.add(d);
        row.push_back(diff_ci(d));
        findings.push_back(cell_finding("Q4", "the pre-training data changes the ability at a fixed size",
                                        fmt::format("{} / {} {} {}: {} - {}", preset, task, split, method, r, reference), *x,
                                        *ref, d, kData, published_data_sign(r, reference, task, split), MustWork::better));
        if (d.resolved()) verdicts.push_back(fmt::format("at {}, {} {} {}: {}", preset, task, split, method,
                                                         verdict_of("recipe " + r, "recipe " + reference, d)));
      }
      rows.push_back(row);
    }
    if (rows.empty()) continue;
    doc.heading("preset " + preset, 3);
    doc.table(header, rows);
  }
  // Scale within each recipe, on the same cells: largest preset - smallest.
  std::vector<std::vector<std::string>> rows;
  if (c.presets.size() >= 2) {
    const std::string &small = c.presets.front(), &large = c.presets.back();
    for (const auto& r : c.recipes)
      for (const auto& [task, split, method] : cells) {
        const Cell *a = c.find(large, r, "prompt", task, split, method), *b = c.find(small, r, "prompt", task, split, method);
        if (!a || !b || !same_items(*a, *b)) continue;
        const auto d = compare(*a, *b, c.seed);
        scale.add(d);
        rows.push_back({r, task, split, method, acc_ci(*b), acc_ci(*a), diff_ci(d)});
        findings.push_back(cell_finding("Q4", "scale changes the ability with the data fixed",
                                        fmt::format("{} {} {} {}: {} - {}", r, task, split, method, large, small), *a, *b, d,
                                        kScale, +1, MustWork::a_only));
      }
    doc.heading(fmt::format("Scale: {} against {}", large, small), 3);
    doc.table({"recipe", "task", "split", "method", small, large, large + " - " + small}, rows);
  }
  const std::string v =
      fmt::format("Against {}, another recipe is better in {} of {} cells, worse in {}, not separated in {}; from the smallest "
                  "preset to the largest, accuracy rises in {} of {} cells and falls in {}.{}",
                  reference, recipes.first, recipes.total(), recipes.second, recipes.open, scale.first, scale.total(),
                  scale.second, verdicts.empty() ? "" : fmt::format(" Resolved: {}.", fmt::join(verdicts, "; ")));
  doc.verdict(v);
  return fmt::format("Q4 recipes: against {}, another recipe is better in {} of {} cells, worse in {}, not enough evidence in {}; "
                     "scale (smallest to largest) helps in {} of {} and hurts in {}.",
                     reference, recipes.first, recipes.total(), recipes.second, recipes.open, scale.first, scale.total(),
                     scale.second);
}

}  // namespace elab
