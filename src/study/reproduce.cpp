#include "study/reproduce.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "core/error.h"
#include "study/spec.h"

namespace elab {

std::string CellRef::adaptation() const { return ft_method.empty() ? "prompt" : fmt::format("ft:{}:{}", ft_method, ft_n); }

std::string CellRef::text() const {
  std::string out = fmt::format("{} {} {} {}", base, task, split, method);
  if (step > 0) out += fmt::format(" step={}", step);
  if (!ft_method.empty()) out += fmt::format(" ft={}:{}", ft_method, ft_n);
  if (!ft_task.empty()) out += " ft_task=" + ft_task;
  return out;
}

CellRef parse_cell_ref(const std::string& text, const std::string& where) {
  std::istringstream in(text);
  std::vector<std::string> parts;
  for (std::string p; in >> p;) parts.push_back(p);
  if (parts.size() < 4)
    fail("{}: a cell is 'BASE TASK SPLIT METHOD [step=N] [ft=METHOD:N] [ft_task=TASK]' (e.g. 'm/ladder-bursty add id "
         "cot:1'), got '{}'", where, text);
  CellRef ref{parts[0], parts[1], parts[2], parts[3]};
  auto whole = [&](const std::string& n, const std::string& part, const char* what) {
    check(!n.empty() && n.size() < 12 && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
              std::stoll(n) > 0,
          "{}: {} must be a positive whole number, got '{}'", where, what, part);
    return std::stoll(n);
  };
  for (size_t i = 4; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    const size_t eq = p.find('=');
    const std::string key = eq == std::string::npos ? p : p.substr(0, eq), value = eq == std::string::npos ? "" : p.substr(eq + 1);
    if (key == "step" && ref.step == 0) {
      ref.step = whole(value, p, "step");
    } else if (key == "ft" && ref.ft_method.empty()) {
      const size_t colon = value.find(':');
      check(colon != std::string::npos && colon > 0, "{}: ft is METHOD:N (e.g. ft=full:12), got '{}'", where, p);
      ref.ft_method = value.substr(0, colon);
      ref.ft_n = whole(value.substr(colon + 1), p, "ft's N");
    } else if (key == "ft_task" && ref.ft_task.empty() && !value.empty()) {
      ref.ft_task = value;
    } else {
      fail("{}: '{}' in cell '{}' is not one of step=N, ft=METHOD:N, ft_task=TASK (each at most once)", where, p, text);
    }
  }
  check(ref.ft_task.empty() || !ref.ft_method.empty(), "{}: ft_task names a fine-tuned cell's task and needs ft=METHOD:N ('{}')",
        where, text);
  check(ref.step == 0 || ref.ft_method.empty(), "{}: a cell is a snapshot (step=N) or fine-tuned (ft=...), not both ('{}')",
        where, text);
  return ref;
}

std::string ReproduceCriterion::recipe_of_sizes() const { return a.base.rfind("*/", 0) == 0 ? a.base.substr(2) : ""; }

std::string ReproduceCriterion::text() const {
  if (seed_split())
    return fmt::format("over at least {} seeds a size of [{}] where at least {:g}% of the seeds score <= {:g} and at least "
                       "{:g}% score >= {:g} (bimodal), and at the smallest such size fewer than half score >= {:g}",
                       min_seeds, a.text(), 100 * min_share, low, 100 * min_share, high, high);
  const std::string what = b ? fmt::format("[{}] - [{}]", a.text(), b->text()) : fmt::format("[{}]", a.text());
  return fmt::format("{} {} {:g} by its 95% CI, over at least {} seed{}", what, direction == "greater" ? ">" : "<", threshold,
                     min_seeds, min_seeds == 1 ? "" : "s");
}

// The cells the study evaluates by prompting: bases x [[evaluate]] blocks.
void check_reproduction(const StudySpec& s) {
  const ReproduceCriterion& k = s.reproduce->criterion;
  const std::string where = s.path + ": [reproduce.criterion]";
  check(int(s.seeds.size()) >= k.min_seeds,
        "{} needs at least {} seeds and the study runs {} ([study] seeds = [{}]); add seeds or change the criterion, "
        "deliberately", where, k.min_seeds, s.seeds.size(), fmt::join(s.seeds, ", "));
  std::vector<std::string> bases;
  for (const auto& r : s.recipes) {
    for (const auto& p : s.presets) bases.push_back(p + "/" + r);
    for (const auto& m : s.models) bases.push_back(m.name + "/" + r);
  }
  for (const auto& src : s.sources) bases.push_back(src.name);
  auto splits_of = [](const EvalBlock& b) { return b.splits.empty() ? std::vector<std::string>{"id"} : b.splits; };
  auto check_cell = [&](const CellRef& c, const char* side) {
    check(std::find(bases.begin(), bases.end(), c.base) != bases.end(), "{} {}: the study has no base '{}' (its bases: {})",
          where, side, c.base, fmt::join(bases, ", "));
    const std::string base_name = c.base.substr(0, c.base.find('/'));
    if (!c.ft_method.empty()) {  // a [[finetune]] block that tunes this base so and evaluates this cell
      const std::string tuned_on = c.ft_task.empty() ? c.task : c.ft_task;
      for (const auto& f : s.finetune) {
        const bool for_base = f.models.empty() || std::count(f.models.begin(), f.models.end(), base_name);
        const std::vector<std::string> splits = splits_of(f.evaluate);
        const bool evaluates_task = c.task == tuned_on ||
                                    std::count(f.evaluate.retention_tasks.begin(), f.evaluate.retention_tasks.end(),
                                               c.task + "@" + c.split + "@" + c.method);
        if (for_base && std::count(f.tasks.begin(), f.tasks.end(), tuned_on) &&
            std::count(f.methods.begin(), f.methods.end(), c.ft_method) &&
            std::count(f.n_train.begin(), f.n_train.end(), c.ft_n) && evaluates_task &&
            (c.task != tuned_on || (std::count(splits.begin(), splits.end(), c.split) &&
                                    std::count(f.evaluate.methods.begin(), f.evaluate.methods.end(), c.method))))
          return;
      }
      fail("{} {}: no [[finetune]] block fine-tunes {} by {} on {} examples of {} and evaluates task {}, split {}, method "
           "{}; the criterion must name a cell the study makes", where, side, c.base, c.ft_method, c.ft_n, tuned_on, c.task,
           c.split, c.method);
    }
    for (const auto& b : s.evaluate) {
      const bool for_base = b.models.empty() || std::find(b.models.begin(), b.models.end(), base_name) != b.models.end();
      const std::vector<std::string> splits = splits_of(b);
      if (for_base && std::count(b.tasks.begin(), b.tasks.end(), c.task) &&
          std::count(splits.begin(), splits.end(), c.split) && std::count(b.methods.begin(), b.methods.end(), c.method) &&
          (c.step == 0 || b.snapshots))
        return;
    }
    fail("{} {}: no [[evaluate]] block evaluates {} on task {}, split {}, method {}{}; the criterion must name a cell the "
         "study makes", where, side, c.base, c.task, c.split, c.method,
         c.step > 0 ? " with snapshots = true" : "");
  };
  // A snapshot cell needs that snapshot: its base's save_at holds its step.
  auto check_step = [&](const CellRef& c, const char* side) {
    if (c.step == 0) return;
    const std::vector<int64_t> kept = snapshot_steps(s, c.base.substr(0, c.base.find('/')));
    check(std::count(kept.begin(), kept.end(), c.step) > 0,
          "{} {}: step={} names a snapshot the study does not keep (its base's save_at = [{}])", where, side, c.step,
          fmt::join(kept, ", "));
  };
  if (k.seed_split()) {  // every size of one recipe: each base of the recipe is checked as a cell
    const std::string recipe = k.recipe_of_sizes();
    check(!recipe.empty() && std::count(s.recipes.begin(), s.recipes.end(), recipe) > 0,
          "{} a: a seed_split criterion names every size of a recipe, '*/RECIPE' with one of the study's recipes ({}), "
          "got '{}'", where, fmt::join(s.recipes, ", "), k.a.base);
    check(!k.b, "{}: a seed_split criterion has no b (it reads every size of a)", where);
    int sizes = 0;
    for (const auto& base : bases)
      if (base.size() > recipe.size() + 1 && base.compare(base.size() - recipe.size() - 1, std::string::npos, "/" + recipe) == 0) {
        CellRef at_size = k.a;
        at_size.base = base;
        check_cell(at_size, "a");
        check_step(at_size, "a");
        ++sizes;
      }
    check(sizes >= 2, "{} a: a seed_split criterion needs at least two sizes of {}, the study has {}", where, recipe, sizes);
    return;
  }
  check_cell(k.a, "a");
  check_step(k.a, "a");
  if (k.b) check_cell(*k.b, "b"), check_step(*k.b, "b");
}

}  // namespace elab
