#include "report/reproduction.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <tuple>

#include "eval/stats.h"
#include "report/doc.h"

namespace elab {

namespace {

// "m/ladder-bursty" -> (m, ladder-bursty); a source's name -> (name, source).
// The cell `ref` names: from the rows of its snapshot (made cells as if final) or of the
// final weights.
std::optional<Cell> find_cell(const std::vector<EvalRow>& rows, uint64_t seed, const CellRef& ref) {
  std::vector<EvalRow> at_step;
  for (const auto& r : rows)
    if (r.snapshot == ref.step) at_step.push_back(r), at_step.back().snapshot = 0;
  const Cells cells = make_cells(at_step, seed);
  const size_t slash = ref.base.find('/');
  const std::string preset = slash == std::string::npos ? ref.base : ref.base.substr(0, slash);
  const std::string recipe = slash == std::string::npos ? "source" : ref.base.substr(slash + 1);
  const Cell* c = cells.find(preset, recipe, ref.adaptation(), ref.task, ref.split, ref.method, ref.ft_task);
  return c ? std::optional<Cell>(*c) : std::nullopt;
}

std::string interval(double x, double lo, double hi) { return fmt::format("{:.3f} [{:.3f}, {:.3f}]", x, lo, hi); }

// Our cells as bars with their CIs (a, then b), on one accuracy axis.
std::string cells_svg(const ReproductionVerdict& v, const ReproduceSpec& spec) {
  const ReproduceCriterion& k = spec.criterion;
  std::vector<const Cell*> cells = {&*v.a};
  if (v.b) cells.push_back(&*v.b);
  // L: room for the longest label, "b: BASE… SPLIT ft:METHOD:N METHOD".
  const double W = 720, L = 340, R = 20, row = 34, top = 30;
  const double H = top + row * double(cells.size()) + 36;
  auto X = [&](double acc) { return L + acc * (W - L - R); };
  std::string s = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif">)", W, H);
  s += R"(<text x="4" y="16" font-size="13" font-weight="bold">Our cells: accuracy with its 95% CI</text>)";
  for (int t = 0; t <= 4; ++t)
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#ddd"/><text x="{0:.1f}" y="{3}" font-size="10" text-anchor="middle">{4:g}</text>)",
                     X(t / 4.0), top - 4, H - 30, H - 18, t / 4.0);
  for (size_t i = 0; i < cells.size(); ++i) {
    const Cell& c = *cells[i];
    const int64_t step = i == 0 ? k.a.step : k.b->step;
    const double y = top + row * (double(i) + 0.5);
    // Long recipe names would run into the bars: cut, the full name is in the table.
    std::string base = c.preset + "/" + c.recipe;
    if (base.size() > 24) base = base.substr(0, 23) + "…";
    s += fmt::format(R"(<text x="4" y="{:.1f}" font-size="11">{} {} {} {}</text>)", y + 4, i == 0 ? "a:" : "b:",
                     xml_escape(base), xml_escape(c.split),
                     xml_escape(cell_label(c) + (step > 0 ? fmt::format(" at step {}", step) : "")));
    s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="14" fill="{}"/>)", L, y - 7, X(c.accuracy) - L,
                     i == 0 ? "#1f77b4" : "#aaa");
    s += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#000"/>)", X(c.lo), y, X(c.hi), y);
    // The published number of the setting this cell stands for: a red diamond on its row.
    if (const auto& published = i == 0 ? spec.published_a : spec.published_b) {
      const double px = X(*published);
      s += fmt::format(R"(<path d="M{0:.1f} {1:.1f} l6 9 l-6 9 l-6 -9 z" fill="#d62728"><title>published {2:.2f}</title></path>)",
                       px, y - 9, *published);
    }
  }
  if (spec.published_a || spec.published_b)
    s += fmt::format(R"(<path d="M{0:.1f} 6 l5 6 l-5 6 l-5 -6 z" fill="#d62728"/><text x="{1:.1f}" y="16" font-size="11">published (their setting)</text>)",
                     W - 190, W - 180);
  s += fmt::format(R"(<text x="{:.1f}" y="{}" font-size="10" text-anchor="middle">accuracy (exact match)</text>)", (L + W - R) / 2,
                   H - 4);
  return s + "</svg>";
}

// Every size of the criterion's recipe: each seed's accuracy on cell a's task, split and
// method (prompted, at a's snapshot), smallest size first.
std::vector<SeedOutcomes> seed_outcomes(const ReproduceCriterion& k, const std::vector<EvalRow>& rows, uint64_t seed) {
  std::map<std::string, SeedOutcomes> by_base;
  const std::string recipe = k.recipe_of_sizes();
  for (const auto& r : rows) {
    if (r.recipe != recipe || r.adaptation != "prompt" || r.snapshot != k.a.step || r.task != k.a.task ||
        r.split != k.a.split || r.method != k.a.method)
      continue;
    SeedOutcomes& o = by_base[r.preset];
    o.base = r.preset + "/" + r.recipe;
    o.parameters = r.parameters;
    o.seeds.push_back(r.train_seed);
    o.accuracies.push_back(r.accuracy);
  }
  std::vector<SeedOutcomes> sizes;
  for (auto& [name, o] : by_base) {
    const double n = double(o.accuracies.size());
    o.mean = std::accumulate(o.accuracies.begin(), o.accuracies.end(), 0.0) / n;
    o.share_low = double(std::count_if(o.accuracies.begin(), o.accuracies.end(), [&](double x) { return x <= k.low; })) / n;
    o.share_high = double(std::count_if(o.accuracies.begin(), o.accuracies.end(), [&](double x) { return x >= k.high; })) / n;
    o.split = o.share_low >= k.min_share && o.share_high >= k.min_share;
    std::tie(o.lo, o.hi) = bootstrap_ci95(o.accuracies, seed);  // the seeds are the sample here
    sizes.push_back(o);
  }
  std::stable_sort(sizes.begin(), sizes.end(),
                   [](const SeedOutcomes& x, const SeedOutcomes& y) { return x.parameters < y.parameters; });
  return sizes;
}

ReproductionVerdict judge_seed_split(const ReproduceCriterion& k, const std::vector<EvalRow>& rows, uint64_t seed) {
  ReproductionVerdict v;
  v.sizes = seed_outcomes(k, rows, seed);
  if (v.sizes.size() < 2) {
    v.reason = fmt::format("the study holds {} finished size{} of [{}]; the criterion reads at least two", v.sizes.size(),
                           v.sizes.size() == 1 ? "" : "s", k.a.text());
    return v;
  }
  std::vector<std::string> summary;
  size_t fewest = SIZE_MAX;
  for (const auto& o : v.sizes) {
    fewest = std::min(fewest, o.accuracies.size());
    summary.push_back(fmt::format("{} mean {:.2f}, {:.0f}% low, {:.0f}% high{}", o.base.substr(0, o.base.find('/')), o.mean,
                                  100 * o.share_low, 100 * o.share_high, o.split ? " (split)" : ""));
  }
  const auto first_split =
      std::find_if(v.sizes.begin(), v.sizes.end(), [](const SeedOutcomes& o) { return o.split; });
  std::string verdict;
  if (int(fewest) < k.min_seeds)
    verdict = fmt::format("a size has {} seeds, fewer than the {} the criterion needs", fewest, k.min_seeds);
  else if (first_split == v.sizes.end())
    verdict = "no size is split into both modes";
  else if (first_split->share_high >= 0.5)
    verdict = fmt::format("at the smallest split size ({}) {:.0f}% of the seeds are already high: the mean has jumped",
                          first_split->base, 100 * first_split->share_high);
  else {
    v.passed = true;
    verdict = fmt::format("at {} the seeds split ({:.0f}% low, {:.0f}% high) while most are still low",
                          first_split->base.substr(0, first_split->base.find('/')), 100 * first_split->share_low,
                          100 * first_split->share_high);
  }
  v.reason = fmt::format("{} ({} seeds at the fewest): {}", fmt::join(summary, "; "), fewest, verdict);
  return v;
}

// Each seed's accuracy as a dot at its size, the mean with its CI as a bar: the
// distribution over seeds, which a mean over seeds hides.
std::string seed_outcomes_svg(const ReproductionVerdict& v, const ReproduceCriterion& k) {
  const double W = 640, H = 300, L = 50, R = 20, top = 30, bottom = 60;
  const double slot = (W - L - R) / double(v.sizes.size());
  auto Y = [&](double acc) { return top + (1 - acc) * (H - top - bottom); };
  std::string s = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif">)", W, H);
  s += R"(<text x="4" y="16" font-size="13" font-weight="bold">Each seed's accuracy at each size (dots), the mean and its 95% CI (black)</text>)";
  for (int t = 0; t <= 4; ++t)
    s += fmt::format(R"(<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#ddd"/><text x="{3}" y="{4:.1f}" font-size="10" text-anchor="end">{5:g}</text>)",
                     L, Y(t / 4.0), W - R, L - 4, Y(t / 4.0) + 3, t / 4.0);
  for (double band : {k.low, k.high})
    s += fmt::format(R"(<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#d62728" stroke-dasharray="4 3"/>)", L,
                     Y(band), W - R);
  for (size_t i = 0; i < v.sizes.size(); ++i) {
    const SeedOutcomes& o = v.sizes[i];
    const double cx = L + slot * (double(i) + 0.5);
    for (size_t j = 0; j < o.accuracies.size(); ++j) {
      const double jitter = (double(j % 7) - 3) * std::min(4.0, slot / 20);
      s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3.5" fill="{}" fill-opacity="0.6"><title>seed {}: {:.3f}</title></circle>)",
                       cx - slot / 6 + jitter, Y(o.accuracies[j]), o.split ? "#ff7f0e" : "#1f77b4", o.seeds[j],
                       o.accuracies[j]);
    }
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" stroke="#000" stroke-width="2"/>)", cx + slot / 6,
                     Y(o.lo), Y(o.hi));
    s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="10" height="3" fill="#000"/>)", cx + slot / 6 - 5, Y(o.mean) - 1.5);
    std::string name = o.base.substr(0, o.base.find('/'));
    if (name.size() > 18) name = name.substr(0, 17) + "…";
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="10" text-anchor="middle">{}</text>)", cx, H - bottom + 14,
                     xml_escape(name));
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="10" text-anchor="middle">{} params</text>)", cx,
                     H - bottom + 27, o.parameters);
  }
  s += fmt::format(R"(<text x="{:.1f}" y="{}" font-size="10" text-anchor="middle">size (orange: split into both modes; dashed: low and high)</text>)",
                   (L + W - R) / 2, H - 8);
  return s + "</svg>";
}

}  // namespace

ReproductionVerdict judge_reproduction(const ReproduceCriterion& k, const std::vector<EvalRow>& rows, uint64_t seed) {
  if (k.seed_split()) return judge_seed_split(k, rows, seed);
  ReproductionVerdict v;
  v.a = find_cell(rows, seed, k.a);
  if (k.b) v.b = find_cell(rows, seed, *k.b);
  if (!v.a || (k.b && !v.b)) {
    v.reason = fmt::format("the study holds no finished cell [{}]", (!v.a ? k.a : *k.b).text());
    return v;
  }
  const int seeds = v.b ? std::min(v.a->seeds, v.b->seeds) : v.a->seeds;
  double effect = v.a->accuracy, lo = v.a->lo, hi = v.a->hi;
  if (v.b) {
    if (!same_items(*v.a, *v.b)) {
      v.reason = "cells a and b were not evaluated on the same items, so they cannot be paired";
      return v;
    }
    v.difference = compare(*v.a, *v.b, seed);
    effect = v.difference->diff, lo = v.difference->lo, hi = v.difference->hi;
  }
  // The side the criterion expects to be the better one must work (above its trivial
  // baselines, in format); the other may fail, when failing is the published result.
  const Cell* better = k.direction == "greater" || !v.b ? &*v.a : &*v.b;
  if (const std::string why = cell_failure(*better, true); !why.empty()) {
    v.reason = fmt::format("does not count: {}", why);
    return v;
  }
  const bool holds = k.direction == "greater" ? lo > k.threshold : hi < k.threshold;
  const std::string what = v.b ? "a - b" : "a";
  v.passed = holds && seeds >= k.min_seeds;
  v.reason = fmt::format("{} = {:+.3f} [{:+.3f}, {:+.3f}] over {} seed{}: {}", what, effect, lo, hi, seeds, seeds == 1 ? "" : "s",
                         seeds < k.min_seeds ? fmt::format("fewer seeds than the {} the criterion needs", k.min_seeds)
                         : holds ? fmt::format("its CI lies {} {:g}", k.direction == "greater" ? "above" : "below", k.threshold)
                                 : fmt::format("its CI does not lie {} {:g}", k.direction == "greater" ? "above" : "below", k.threshold));
  return v;
}

ReproductionPage reproduction_page(const std::string& name, const ReproduceSpec& spec, const ReproductionVerdict& v,
                                   double wall_seconds, double job_seconds) {
  Doc doc;
  doc.heading(fmt::format("Reproduction {}: {}", name, v.passed ? "PASS" : "FAIL"), 1);
  doc.para("Published: " + spec.paper + ".");
  doc.para("Their setting and numbers: " + spec.published + ". Compared with: " + spec.figure + ".");
  doc.para("Ours: " + spec.setting + ".");
  doc.para("Criterion (fixed before the first run): " + spec.criterion.text() + ".");
  doc.verdict(fmt::format("{}: {}.", v.passed ? "PASS" : "FAIL", v.reason));
  std::vector<std::vector<std::string>> rows;
  if (v.a) rows.push_back({"a", spec.criterion.a.text(), interval(v.a->accuracy, v.a->lo, v.a->hi), std::to_string(v.a->seeds)});
  if (v.b) rows.push_back({"b", spec.criterion.b->text(), interval(v.b->accuracy, v.b->lo, v.b->hi), std::to_string(v.b->seeds)});
  std::vector<std::string> header = {"cell", "base task split method", "accuracy [95% CI]", "seeds"};
  if (spec.published_a || spec.published_b) {
    header.push_back("published (their setting)");
    const auto shown = [](const std::optional<double>& x) { return x ? fmt::format("{:.2f}", *x) : std::string("—"); };
    for (auto& row : rows) row.push_back(shown(row[0] == "a" ? spec.published_a : spec.published_b));
  }
  if (!v.sizes.empty()) {
    std::vector<std::vector<std::string>> by_size;
    for (const auto& o : v.sizes) {
      std::vector<std::string> sorted;
      auto acc = o.accuracies;
      std::sort(acc.begin(), acc.end());
      for (double x : acc) sorted.push_back(fmt::format("{:.2f}", x));
      by_size.push_back({o.base, std::to_string(o.parameters), std::to_string(o.accuracies.size()),
                         interval(o.mean, o.lo, o.hi), fmt::format("{:.0f}%", 100 * o.share_low),
                         fmt::format("{:.0f}%", 100 * o.share_high), o.split ? "yes" : "no", fmt::format("{}", fmt::join(sorted, " "))});
    }
    doc.table({"size", "parameters", "seeds", "mean [95% CI over seeds]", "low", "high", "split", "each seed, sorted"}, by_size);
    doc.figure(seed_outcomes_svg(v, spec.criterion));
  } else {
    doc.table(header, rows);
  }
  if (v.a) doc.figure(cells_svg(v, spec));
  doc.para(fmt::format("Wall time of this run: {:.0f} s on this machine (jobs already done are not counted again); the "
                       "study's jobs took {:.0f} s in all, summed over jobs (which run up to --jobs at a time).",
                       wall_seconds, job_seconds));
  nlohmann::json j = {{"name", name},
                      {"paper", spec.paper},
                      {"criterion", spec.criterion.text()},
                      {"passed", v.passed},
                      {"reason", v.reason},
                      {"wall_seconds", wall_seconds},
                      {"job_seconds", job_seconds}};
  if (v.a) j["a"] = {{"cell", spec.criterion.a.text()}, {"accuracy", v.a->accuracy}, {"ci95", {v.a->lo, v.a->hi}}, {"seeds", v.a->seeds}};
  if (v.b) j["b"] = {{"cell", spec.criterion.b->text()}, {"accuracy", v.b->accuracy}, {"ci95", {v.b->lo, v.b->hi}}, {"seeds", v.b->seeds}};
  if (v.difference) j["difference"] = {{"effect", v.difference->diff}, {"ci95", {v.difference->lo, v.difference->hi}}};
  for (const auto& o : v.sizes)
    j["sizes"].push_back({{"base", o.base}, {"parameters", o.parameters}, {"seeds", o.seeds}, {"accuracies", o.accuracies},
                          {"mean", o.mean}, {"ci95", {o.lo, o.hi}}, {"share_low", o.share_low},
                          {"share_high", o.share_high}, {"split", o.split}});
  if (spec.published_a) j["published_a"] = *spec.published_a;
  if (spec.published_b) j["published_b"] = *spec.published_b;
  return {doc.md, html_page("Reproduction " + name, doc.html), j.dump(2) + "\n"};
}

}  // namespace elab
