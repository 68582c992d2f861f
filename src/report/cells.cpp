#include "report/cells.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/settings.h"
#include "report/figures.h"
#include "eval/evaluate.h"
#include "tasks/registry.h"

namespace elab {

// The baselines of an evaluation recorded before summaries kept them: its items are a
// function of (task, split, n, seed), so they are drawn again. Unknown (nullopt) for a
// task group or a task that cannot be made here (a data file that is absent).
static std::optional<TrivialBaselines> baselines_of_items(const std::string& task, const std::string& split, int64_t n,
                                                          uint64_t seed) {
  static std::map<std::string, std::optional<TrivialBaselines>> known;
  const std::string key = fmt::format("{}|{}|{}|{}", task, split, n, seed);
  if (auto it = known.find(key); it != known.end()) return it->second;
  std::optional<TrivialBaselines> b;
  try {
    if (task_group(task).empty()) {
      auto t = make_task(task);
      b = trivial_baselines(*t, test_items(*t, split, n, seed));
    }
  } catch (const Error&) {
  }
  return known[key] = b;
}

std::vector<EvalRow> eval_rows(const std::vector<JobRecord>& jobs) {
  std::map<std::string, const JobRecord*> by_key;
  for (const auto& j : jobs) by_key[j.key] = &j;
  std::vector<EvalRow> rows;
  for (const auto& j : jobs) {
    const EvalJobSpec* e = j.eval();
    const EvalSummary* s = j.summary();
    if (!e || !s || j.status != "done") continue;
    auto parent = by_key.find(j.parent);
    auto base = by_key.find(j.group);
    if (parent == by_key.end() || base == by_key.end()) continue;  // a shard without its models' records
    EvalRow r;
    r.base = base_label(base->second->spec);
    if (const auto* p = base->second->pretrain()) {
      r.preset = p->preset;
      r.recipe = p->recipe;
      r.train_seed = p->seed;
      if (const auto* out = base->second->pretrained()) r.parameters = out->parameters;
    } else if (const auto* src = base->second->source()) {
      r.preset = src->name;
      r.recipe = "source";
      r.train_seed = src->seed;  // the seed of its items, exemplars and fine-tuning examples
      if (const auto* out = base->second->sourced()) r.parameters = out->parameters;
    }
    if (const auto* f = parent->second->finetune()) {
      r.ft_method = f->method;
      r.ft_task = f->task;
      r.n_train = f->n_train;
      r.adaptation = fmt::format("ft:{}:{}", r.ft_method, r.n_train);
      // Fine-tuned on k-shot prompts (Bornschein et al. 2025): another model than the
      // same method on the examples alone.
      if (auto shots = f->settings.find("train_shots"); shots != f->settings.end())
        r.ft_shots = parse_integer_setting(shots->second, "fine-tuning job " + parent->first + ": train_shots");
      if (r.ft_shots > 0) r.adaptation += fmt::format("+{}shot", r.ft_shots);
      if (const auto* out = std::get_if<FinetuneOutcome>(&parent->second->result)) r.ft_train_answered = out->train_answered;
    } else {
      r.adaptation = "prompt";
    }
    r.task = e->task;
    r.split = s->split;
    r.method = s->method;
    r.n = s->n;
    r.accuracy = s->accuracy;
    r.lo = s->ci_lo, r.hi = s->ci_hi;
    if (s->metrics.gold_logprob) r.gold_logprob = *s->metrics.gold_logprob, r.has_logprob = true;
    r.char_accuracy = s->metrics.char_accuracy;
    r.gold_chars = s->metrics.gold_chars;
    r.item_correct.assign(s->item_correct.begin(), s->item_correct.end());
    r.accuracy_strict = s->accuracy_strict;
    r.snapshot = e->snapshot;
    r.extraction_disagreements = s->extraction_disagreements;
    r.unanswered = s->metrics.extract_fail;
    r.baselines = s->baselines ? s->baselines : baselines_of_items(e->task, s->split, s->n, e->seed);
    rows.push_back(std::move(r));
  }
  // A fixed order (not the order jobs finished in), so reports of equal results are equal files.
  std::stable_sort(rows.begin(), rows.end(), [](const EvalRow& a, const EvalRow& b) {
    return std::tie(a.parameters, a.preset, a.recipe, a.train_seed, a.adaptation, a.ft_task, a.task, a.split, a.method, a.snapshot) <
           std::tie(b.parameters, b.preset, b.recipe, b.train_seed, b.adaptation, b.ft_task, b.task, b.split, b.method, b.snapshot);
  });
  return rows;
}

namespace {

// A fine-tuned model is named by its method, N and the task it was tuned on: two models
// with the same method and N, tuned on different tasks, are different cells.
std::string cell_key(const std::string& preset, const std::string& recipe, const std::string& adaptation,
                     const std::string& ft_task, const std::string& task, const std::string& split, const std::string& method) {
  return preset + "|" + recipe + "|" + adaptation + "|" + ft_task + "|" + task + "|" + split + "|" + method;
}

}  // namespace

const Cell* Cells::find(const std::string& preset, const std::string& recipe, const std::string& adaptation,
                        const std::string& task, const std::string& split, const std::string& method,
                        const std::string& ft_task) const {
  const std::string tuned_on = adaptation == "prompt" ? "" : ft_task.empty() ? task : ft_task;
  auto it = by_key.find(cell_key(preset, recipe, adaptation, tuned_on, task, split, method));
  return it == by_key.end() ? nullptr : &it->second;
}

std::vector<const Cell*> Cells::where(const std::function<bool(const Cell&)>& keep) const {
  std::vector<const Cell*> out;
  for (const auto& [k, c] : by_key)
    if (keep(c)) out.push_back(&c);
  return out;
}

std::vector<ResultRow> as_result_rows(const std::vector<EvalRow>& rows) {
  std::vector<ResultRow> out;
  for (const auto& e : rows) {
    if (e.snapshot > 0 || e.split != "id" && e.split != "test") continue;
    const Method m = parse_method(e.method);
    if (!m.probe.empty() || (!e.ft_task.empty() && e.ft_task != e.task)) continue;
    ResultRow r;
    r.source = "elab-study:" + e.base;
    r.model.name = e.recipe == "source" ? e.preset : e.preset + "/" + e.recipe;
    r.model.family = e.recipe == "source" ? family_from_name(e.preset) : "elab-" + e.recipe;
    r.model.variant = e.adaptation == "prompt" ? "base" : e.adaptation;
    if (r.model.variant != "base") r.model.name += " " + e.adaptation;
    r.model.parameters = double(e.parameters);
    r.task = e.task;
    r.method.shots = m.shots;
    r.method.style = m.chain() ? (m.samples > 1 ? "self-consistency" : "chain") : "direct";
    r.method.format = m.chat ? "chat" : "";
    r.metric.name = "exact_match";
    r.value = e.accuracy;
    r.n = e.n;
    r.items = e.item_correct;
    r.seed = int64_t(e.train_seed);
    out.push_back(std::move(r));
  }
  return out;
}

Cells make_cells(const std::vector<EvalRow>& rows, uint64_t seed) {
  Cells cells;
  cells.seed = seed;
  std::vector<EvalRow> sorted = rows;
  std::stable_sort(sorted.begin(), sorted.end(), [](const EvalRow& a, const EvalRow& b) { return a.train_seed < b.train_seed; });
  std::map<std::string, double> lp_sum, char_sum, length_sum, baseline_sum, unanswered_sum;
  std::set<std::string> baseline_unknown;
  std::map<std::string, int64_t> params;
  for (const auto& r : sorted) {
    if (r.snapshot > 0) continue;  // snapshots have their own section: the cells are the final models
    auto key = cell_key(r.preset, r.recipe, r.adaptation, r.ft_task, r.task, r.split, r.method);
    Cell& c = cells.by_key[key];
    if (c.seeds == 0) c.parsed = parse_method(r.method);
    c.preset = r.preset, c.recipe = r.recipe, c.adaptation = r.adaptation;
    c.task = r.task, c.split = r.split, c.method = r.method, c.ft_task = r.ft_task;
    c.ft_method = r.ft_method, c.n_train = r.n_train, c.ft_shots = r.ft_shots;
    c.parameters = r.parameters;
    c.items.insert(c.items.end(), r.item_correct.begin(), r.item_correct.end());
    lp_sum[key] += r.gold_logprob;
    unanswered_sum[key] += r.unanswered;
    if (r.baselines) {
      baseline_sum[key] += r.baselines->best();
      if (c.constant_answer.empty()) c.constant_answer = r.baselines->constant_answer;
    } else {
      baseline_unknown.insert(key);
    }
    char_sum[key] += r.char_accuracy;
    length_sum[key] += r.gold_chars;
    c.has_logprob = c.has_logprob || r.has_logprob;
    if (r.ft_train_answered >= 0)
      c.ft_train_answered = c.ft_train_answered < 0 ? r.ft_train_answered : std::min(c.ft_train_answered, r.ft_train_answered);
    ++c.seeds;
    params[r.preset] = r.parameters;
  }
  for (auto& [key, c] : cells.by_key) {
    c.accuracy = mean(c.items);
    std::tie(c.lo, c.hi) = bootstrap_ci95_clustered(c.items, c.seeds, seed);  // seed-to-seed variance included
    c.gold_logprob = lp_sum[key] / c.seeds;
    c.char_accuracy = char_sum[key] / c.seeds;
    c.gold_chars = length_sum[key] / c.seeds;
    c.unanswered = unanswered_sum[key] / c.seeds;
    c.baseline = baseline_unknown.count(key) ? -1 : baseline_sum[key] / c.seeds;
  }
  std::set<std::string> recipes, tasks, splits;
  for (const auto& r : rows) recipes.insert(r.recipe), tasks.insert(r.task), splits.insert(r.split);
  for (const auto& [p, n] : params) cells.presets.push_back(p);
  std::sort(cells.presets.begin(), cells.presets.end(), [&](const std::string& a, const std::string& b) { return params[a] < params[b]; });
  cells.recipes.assign(recipes.begin(), recipes.end());
  cells.tasks.assign(tasks.begin(), tasks.end());
  cells.splits.assign(splits.begin(), splits.end());
  std::stable_partition(cells.splits.begin(), cells.splits.end(), [](const std::string& s) { return s == "id"; });
  return cells;
}

double Cell::em_from_chars() const { return std::pow(char_accuracy, gold_chars); }

bool same_items(const Cell& a, const Cell& b) { return a.items.size() == b.items.size() && !a.items.empty(); }

PairedDifference compare(const Cell& a, const Cell& b, uint64_t seed) {
  return paired_bootstrap(a.items, b.items, seed, 2000, a.seeds == b.seeds ? a.seeds : 1);
}

std::string cell_label(const Cell& c) { return c.adaptation == "prompt" ? c.method : c.adaptation + " " + c.method; }

std::string cell_failure(const Cell& c, bool above_baseline) {
  const std::string name = cell_label(c);
  if (c.ft_train_answered >= 0 && c.ft_train_answered < 1 - kMaxUnanswered)
    return fmt::format("{} has not learned its training format: it answers {:.0f}% of its own training prompts in format",
                       c.adaptation, 100 * c.ft_train_answered);
  if (c.unanswered > kMaxUnanswered)
    return fmt::format("{} on {} {} leaves {:.0f}% of items unanswered (format failure)", name, c.task, c.split,
                       100 * c.unanswered);
  if (above_baseline && c.baseline >= 0 && c.lo <= c.baseline)
    return fmt::format("{} on {} {} is not above its best trivial baseline ({:.3f} [{:.3f}, {:.3f}] against {:.3f}{})", name,
                       c.task, c.split, c.accuracy, c.lo, c.hi, c.baseline,
                       c.constant_answer.empty() ? "" : ", always '" + c.constant_answer + "'");
  return "";
}

Finding cell_finding(const std::string& question, const std::string& claim, const std::string& comparison, const Cell& a,
                     const Cell& b, const PairedDifference& d, const std::string& literature,
                     std::optional<int> published_sign, MustWork must_work, std::optional<double> margin) {
  Finding f = make_finding(question, claim, comparison, d, literature, published_sign, margin);
  f.scale = a.recipe == "source" || b.recipe == "source" ? kRealModels : kOwnLadder;
  if (must_work == MustWork::better) must_work = a.accuracy >= b.accuracy ? MustWork::a_only : MustWork::b_only;
  f.invalid = cell_failure(b, must_work != MustWork::a_only);
  if (f.invalid.empty()) f.invalid = cell_failure(a, must_work != MustWork::b_only);
  return f;
}

void require_moved(const Cells& c, const Cell& x, Finding& f) {
  if (!f.counts() || x.adaptation == "prompt") return;
  const Cell* base = c.find(x.preset, x.recipe, "prompt", x.task, x.split, x.method);
  if (base && base->items == x.items)
    f.invalid = fmt::format("{} answers each of the {} items of {} {} right or wrong exactly as its base prompted with {} "
                            "does: fine-tuning did not change it",
                            x.adaptation, x.items.size(), x.task, x.split, x.method);
}

std::string not_counted(const Finding& f) { return f.counts() ? "" : " (does not count: " + f.invalid + ")"; }

std::string pct(double x) { return fmt::format("{:.3f}", x); }
std::string acc_ci(const Cell& c) { return fmt::format("{:.3f} [{:.3f}, {:.3f}]", c.accuracy, c.lo, c.hi); }
std::string diff_ci(const PairedDifference& d) { return fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", d.diff, d.lo, d.hi); }

std::string verdict_of(const std::string& a, const std::string& b, const PairedDifference& d) {
  if (d.lo > 0) return fmt::format("{} beats {} by {}", a, b, diff_ci(d));
  if (d.hi < 0) return fmt::format("{} beats {} by {:+.3f} [{:+.3f}, {:+.3f}]", b, a, -d.diff, -d.hi, -d.lo);
  return fmt::format("not enough evidence to separate {} and {} (difference {}, the interval includes 0)", a, b, diff_ci(d));
}

}  // namespace elab
