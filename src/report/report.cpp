#include "report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "eval/stats.h"
#include "report/curves.h"
#include "report/svg.h"

namespace elab {

// ---------------------------------------------------------------------------------------
// Rows: one per finished evaluation, with the base model and adaptation it ran on.

std::vector<ResultRow> result_rows(const std::vector<JobRecord>& jobs) {
  std::map<std::string, const JobRecord*> by_key;
  for (const auto& j : jobs) by_key[j.key] = &j;
  std::vector<ResultRow> rows;
  for (const auto& j : jobs) {
    if (j.kind != "eval" || j.status != "done" || !j.result.is_object()) continue;
    auto parent = by_key.find(j.parent);
    auto base = by_key.find(j.group);
    if (parent == by_key.end() || base == by_key.end()) continue;  // a shard without its models' records
    ResultRow r;
    const auto& b = base->second->spec;
    r.preset = b.value("preset", "");
    r.recipe = b.value("recipe", "");
    r.train_seed = b.value("seed", uint64_t(0));
    r.parameters = base->second->result.is_object() ? base->second->result.value("parameters", int64_t(0)) : 0;
    if (parent->second->kind == "finetune") {
      const auto& f = parent->second->spec;
      r.ft_method = f.value("method", "");
      r.ft_task = f.value("task", "");
      r.n_train = f.value("n_train", int64_t(0));
      r.adaptation = fmt::format("ft:{}:{}", r.ft_method, r.n_train);
    } else {
      r.adaptation = "prompt";
    }
    const auto& s = j.result;
    r.task = j.spec.value("task", "");
    r.split = s.value("split", "");
    r.method = s.value("method", "");
    r.n = s.value("n", int64_t(0));
    r.accuracy = s.value("accuracy", 0.0);
    if (s.contains("ci95") && s["ci95"].is_array()) r.lo = s["ci95"][0], r.hi = s["ci95"][1];
    if (s.contains("metrics") && s["metrics"].is_object()) {
      const auto& m = s["metrics"];
      if (m.contains("gold_logprob") && m["gold_logprob"].is_number()) r.gold_logprob = m["gold_logprob"], r.has_logprob = true;
      if (m.contains("char_accuracy") && m["char_accuracy"].is_number()) r.char_accuracy = m["char_accuracy"];
    }
    if (s.contains("item_correct"))
      for (const auto& x : s["item_correct"]) r.item_correct.push_back(x.get<double>());
    r.accuracy_strict = s.value("accuracy_strict", r.accuracy);
    r.snapshot = j.spec.value("snapshot", int64_t(0));
    if (s.contains("extraction_disagreements"))
      for (const auto& x : s["extraction_disagreements"]) r.extraction_disagreements.push_back(x.get<int64_t>());
    rows.push_back(std::move(r));
  }
  // A fixed order (not the order jobs finished in), so reports of equal results are equal files.
  std::stable_sort(rows.begin(), rows.end(), [](const ResultRow& a, const ResultRow& b) {
    return std::tie(a.parameters, a.preset, a.recipe, a.train_seed, a.adaptation, a.task, a.split, a.method, a.snapshot) <
           std::tie(b.parameters, b.preset, b.recipe, b.train_seed, b.adaptation, b.task, b.split, b.method, b.snapshot);
  });
  return rows;
}

namespace {

// ---------------------------------------------------------------------------------------
// Cells: rows of the same (preset, recipe, adaptation, task, split, method), pooled over
// training seeds. Items stay in seed order, so two cells evaluated on the same items can
// be compared pair by pair.

struct Cell {
  std::string preset, recipe, adaptation, task, split, method;
  std::string ft_task;  // the task the model was fine-tuned on ("" for prompting)
  int64_t parameters = 0;
  std::vector<double> items;
  double accuracy = 0, lo = 0, hi = 0, gold_logprob = 0, char_accuracy = 0;
  bool has_logprob = false;
  int seeds = 0;
};

std::string cell_key(const std::string& preset, const std::string& recipe, const std::string& adaptation,
                     const std::string& task, const std::string& split, const std::string& method) {
  return preset + "|" + recipe + "|" + adaptation + "|" + task + "|" + split + "|" + method;
}

struct Cells {
  std::map<std::string, Cell> by_key;
  std::vector<std::string> presets;  // by size
  std::vector<std::string> recipes, tasks, splits;
  uint64_t seed = 1;

  const Cell* find(const std::string& preset, const std::string& recipe, const std::string& adaptation,
                   const std::string& task, const std::string& split, const std::string& method) const {
    auto it = by_key.find(cell_key(preset, recipe, adaptation, task, split, method));
    return it == by_key.end() ? nullptr : &it->second;
  }
  std::vector<const Cell*> where(const std::function<bool(const Cell&)>& keep) const {
    std::vector<const Cell*> out;
    for (const auto& [k, c] : by_key)
      if (keep(c)) out.push_back(&c);
    return out;
  }
};

Cells make_cells(const std::vector<ResultRow>& rows, uint64_t seed) {
  Cells cells;
  cells.seed = seed;
  std::vector<ResultRow> sorted = rows;
  std::stable_sort(sorted.begin(), sorted.end(), [](const ResultRow& a, const ResultRow& b) { return a.train_seed < b.train_seed; });
  std::map<std::string, double> lp_sum, char_sum;
  std::map<std::string, int64_t> params;
  for (const auto& r : sorted) {
    if (r.snapshot > 0) continue;  // snapshots have their own section: the cells are the final models
    auto key = cell_key(r.preset, r.recipe, r.adaptation, r.task, r.split, r.method);
    Cell& c = cells.by_key[key];
    c.preset = r.preset, c.recipe = r.recipe, c.adaptation = r.adaptation;
    c.task = r.task, c.split = r.split, c.method = r.method, c.ft_task = r.ft_task;
    c.parameters = r.parameters;
    c.items.insert(c.items.end(), r.item_correct.begin(), r.item_correct.end());
    lp_sum[key] += r.gold_logprob;
    char_sum[key] += r.char_accuracy;
    c.has_logprob = c.has_logprob || r.has_logprob;
    ++c.seeds;
    params[r.preset] = r.parameters;
  }
  for (auto& [key, c] : cells.by_key) {
    c.accuracy = mean(c.items);
    std::tie(c.lo, c.hi) = bootstrap_ci95(c.items, seed);
    c.gold_logprob = lp_sum[key] / c.seeds;
    c.char_accuracy = char_sum[key] / c.seeds;
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

bool same_items(const Cell& a, const Cell& b) { return a.items.size() == b.items.size() && !a.items.empty(); }

PairedDifference compare(const Cell& a, const Cell& b, uint64_t seed) { return paired_bootstrap(a.items, b.items, seed); }

std::string pct(double x) { return fmt::format("{:.3f}", x); }
std::string acc_ci(const Cell& c) { return fmt::format("{:.3f} [{:.3f}, {:.3f}]", c.accuracy, c.lo, c.hi); }
std::string diff_ci(const PairedDifference& d) { return fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", d.diff, d.lo, d.hi); }

// "A beats B by d [lo, hi]", "B beats A ...", or "not enough evidence ...".
std::string verdict_of(const std::string& a, const std::string& b, const PairedDifference& d) {
  if (d.lo > 0) return fmt::format("{} beats {} by {}", a, b, diff_ci(d));
  if (d.hi < 0) return fmt::format("{} beats {} by {:+.3f} [{:+.3f}, {:+.3f}]", b, a, -d.diff, -d.hi, -d.lo);
  return fmt::format("not enough evidence to separate {} and {} (difference {}, the interval includes 0)", a, b, diff_ci(d));
}

// Counts of paired comparisons: first wins, second wins, not enough evidence.
struct Tally {
  int first = 0, second = 0, open = 0;
  void add(const PairedDifference& d) { (d.lo > 0 ? first : d.hi < 0 ? second : open) += 1; }
  int total() const { return first + second + open; }
};

bool is_cot(const std::string& m) { return m.rfind("cot", 0) == 0 || m.rfind("sc", 0) == 0 || m.rfind("complex", 0) == 0; }
bool is_icl(const std::string& m) { return m.rfind("icl:", 0) == 0 && std::count(m.begin(), m.end(), ':') == 1; }
int shots_of(const std::string& m) {
  if (m == "direct") return 0;
  auto colon = m.find(':');
  if (colon == std::string::npos) return 0;
  return std::atoi(m.c_str() + colon + 1);
}

// ---------------------------------------------------------------------------------------
// SVG line charts: series of points with 95% CI bars, linear or log x axis.

struct Series {
  std::string name;
  std::vector<double> x, y, lo, hi;
};

std::string svg_plot(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                     const std::vector<Series>& series, bool log_x) {
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  const double W = 520, H = 300, L = 60, R = 150, T = 30, B = 45;
  double xmin = INFINITY, xmax = -INFINITY;
  for (const auto& s : series)
    for (double x : s.x)
      if (!log_x || x > 0) xmin = std::min(xmin, log_x ? std::log10(x) : x), xmax = std::max(xmax, log_x ? std::log10(x) : x);
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1;
  if (xmax - xmin < 1e-9) xmin -= 0.5, xmax += 0.5;
  auto px = [&](double x) { return L + (( log_x ? std::log10(x) : x) - xmin) / (xmax - xmin) * (W - L - R); };
  auto py = [&](double y) { return T + (1 - y) * (H - T - B); };
  std::string s = fmt::format(R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" role="img">)svg", W, H, W, H);
  s += fmt::format(R"svg(<rect width="{}" height="{}" fill="white"/><text x="{}" y="18" font-size="13" font-weight="bold">{}</text>)svg", W, H, L, xml_escape(title));
  for (double y : {0.0, 0.25, 0.5, 0.75, 1.0})
    s += fmt::format(R"svg(<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#ddd"/><text x="{}" y="{:.1f}" font-size="10" text-anchor="end">{:.2f}</text>)svg",
                     L, W - R, py(y), py(y), L - 4, py(y) + 3, y);
  std::set<double> ticks;
  for (const auto& se : series)
    for (double x : se.x)
      if (!log_x || x > 0) ticks.insert(x);
  for (double x : ticks)
    s += fmt::format(R"svg(<text x="{:.1f}" y="{}" font-size="10" text-anchor="middle">{}</text>)svg", px(x), H - B + 14,
                     x >= 1e6 ? fmt::format("{:.1f}M", x / 1e6) : x >= 1e3 ? fmt::format("{:.0f}K", x / 1e3) : fmt::format("{:g}", x));
  s += fmt::format(R"svg(<text x="{}" y="{}" font-size="11" text-anchor="middle">{}</text>)svg", (L + W - R) / 2, H - 8, xml_escape(xlabel));
  s += fmt::format(R"svg(<text x="14" y="{}" font-size="11" transform="rotate(-90 14 {})" text-anchor="middle">{}</text>)svg", (T + H - B) / 2,
                   (T + H - B) / 2, xml_escape(ylabel));
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& se = series[i];
    const char* color = colors[i % 8];
    std::string points;
    for (size_t k = 0; k < se.x.size(); ++k) {
      if (log_x && se.x[k] <= 0) continue;
      points += fmt::format("{:.1f},{:.1f} ", px(se.x[k]), py(se.y[k]));
      s += fmt::format(R"svg(<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="{}" opacity="0.5"/>)svg", px(se.x[k]), px(se.x[k]),
                       py(se.lo[k]), py(se.hi[k]), color);
      s += fmt::format(R"svg(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"/>)svg", px(se.x[k]), py(se.y[k]), color);
    }
    s += fmt::format(R"svg(<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5"/>)svg", points, color);
    s += fmt::format(R"svg(<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="11">{}</text>)svg", W - R + 10,
                     T + 16 * double(i), color, W - R + 24, T + 16 * double(i) + 9, xml_escape(se.name));
  }
  return s + "</svg>";
}

// ---------------------------------------------------------------------------------------
// A document written as Markdown and HTML at once.

struct Doc {
  std::string md, html;
  void heading(const std::string& text, int level) {
    md += std::string(size_t(level), '#') + " " + text + "\n\n";
    html += fmt::format("<h{}>{}</h{}>\n", level, xml_escape(text), level);
  }
  void para(const std::string& text) {
    md += text + "\n\n";
    html += "<p>" + xml_escape(text) + "</p>\n";
  }
  void verdict(const std::string& text) {
    md += "**Verdict.** " + text + "\n\n";
    html += "<p class=\"verdict\"><b>Verdict.</b> " + xml_escape(text) + "</p>\n";
  }
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
    if (rows.empty()) return;
    md += "| " + fmt::format("{}", fmt::join(header, " | ")) + " |\n|";
    for (size_t i = 0; i < header.size(); ++i) md += "---|";
    md += "\n";
    html += "<table><tr>";
    for (const auto& h : header) html += "<th>" + xml_escape(h) + "</th>";
    html += "</tr>\n";
    for (const auto& r : rows) {
      md += "| " + fmt::format("{}", fmt::join(r, " | ")) + " |\n";
      html += "<tr>";
      for (const auto& c : r) html += "<td>" + xml_escape(c) + "</td>";
      html += "</tr>\n";
    }
    md += "\n";
    html += "</table>\n";
  }
  void figure(const std::string& svg) { html += "<figure>" + svg + "</figure>\n"; }
};

// ---------------------------------------------------------------------------------------
// The four sections.

std::string section_icl_vs_supervised(const Cells& c, Doc& doc, std::string& brief) {
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
                 (x.method == "direct" || is_icl(x.method));
        });
        std::vector<std::vector<std::string>> rows;
        std::map<std::string, Series> series;
        for (const Cell* x : icl) {
          rows.push_back({"prompt " + x->method, std::to_string(shots_of(x->method)), acc_ci(*x)});
          auto& s = series["icl"];
          s.name = "icl:K";
          s.x.push_back(shots_of(x->method)), s.y.push_back(x->accuracy), s.lo.push_back(x->lo), s.hi.push_back(x->hi);
        }
        for (const Cell* x : ft) {
          const int64_t n = std::atoll(x->adaptation.substr(x->adaptation.rfind(':') + 1).c_str());
          const std::string m = x->adaptation.substr(3, x->adaptation.rfind(':') - 3);
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
          Series t{s.name, {}, {}, {}, {}};
          for (size_t i : order) t.x.push_back(s.x[i]), t.y.push_back(s.y[i]), t.lo.push_back(s.lo[i]), t.hi.push_back(s.hi[i]);
          s = t;
        }
        doc.heading(fmt::format("{} / {} / {}", preset, recipe, task), 3);
        doc.table({"adaptation", "examples", "accuracy [95% CI]"}, rows);
        std::vector<Series> plot;
        for (auto& [name, s] : series) plot.push_back(s);
        doc.figure(svg_plot(fmt::format("{} {} {}: accuracy vs examples", preset, recipe, task), "examples (K or N, log)",
                            "accuracy (id)", plot, true));
      }
  // Label probes.
  std::vector<std::vector<std::string>> probe_rows;
  int resolved_down = 0, unresolved = 0;
  for (const auto& [k, x] : c.by_key) {
    if (x.adaptation != "prompt") continue;
    for (const char* probe : {":random-labels", ":flipped", ":no-question"}) {
      if (x.method.size() < strlen(probe) || x.method.compare(x.method.size() - strlen(probe), strlen(probe), probe) != 0) continue;
      const std::string plain = x.method.substr(0, x.method.size() - strlen(probe));
      const Cell* ref = c.find(x.preset, x.recipe, "prompt", x.task, x.split, plain);
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
  return "Q1 (ICL as supervised learning): " + v;
}

std::string section_prompting_vs_finetuning(const Cells& c, Doc& doc, std::string& brief) {
  Tally id_tally, ood_tally;
  doc.heading("2. Prompting or fine-tuning, on the same base and the same examples?", 2);
  doc.para("Per base model and task: every prompting method and every fine-tuned model (evaluated zero-shot and with "
           "the listed methods) on the ID split and each OOD split, with 95% CIs; the ID minus OOD gap; and in-context "
           "learning on other tasks after fine-tuning (retention).");
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
        auto name = [](const Cell* x) { return x->adaptation == "prompt" ? x->method : x->adaptation + " " + x->method; };
        if (best_prompt_id && best_ft_id && same_items(*best_prompt_id, *best_ft_id)) {
          const auto d = compare(*best_ft_id, *best_prompt_id, c.seed);
          id_tally.add(d);
          verdicts.push_back(fmt::format("{} {} {} id: {}", preset, recipe, task,
                                         verdict_of("fine-tuning (" + name(best_ft_id) + ")", "prompting (" + name(best_prompt_id) + ")", d)));
        }
        for (const auto& [split, pair] : best_ood)
          if (pair.first && pair.second && same_items(*pair.first, *pair.second)) {
            const auto d = compare(*pair.second, *pair.first, c.seed);
            ood_tally.add(d);
            verdicts.push_back(fmt::format("{} {} {} {}: {}", preset, recipe, task, split,
                                           verdict_of("fine-tuning (" + name(pair.second) + ")", "prompting (" + name(pair.first) + ")", d)));
          }
      }
  // Retention: a fine-tuned model's ICL on a task it was not tuned on, against its base.
  std::vector<std::vector<std::string>> rows;
  int lost = 0, kept = 0;
  for (const auto& [k, x] : c.by_key) {
    if (x.adaptation == "prompt" || !is_icl(x.method) || x.ft_task == x.task) continue;
    const Cell* base = c.find(x.preset, x.recipe, "prompt", x.task, x.split, x.method);
    if (!base || !same_items(*base, x)) continue;
    auto d = compare(x, *base, c.seed);
    (d.hi < 0 ? lost : kept) += 1;
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
  return "Q2 (prompting vs fine-tuning): " + v;
}

}  // namespace

// The smallest preset at which a CoT method beats direct on (recipe, task, id).
static std::string cot_threshold_of(const Cells& c, const std::string& recipe, const std::string& task) {
  for (const auto& preset : c.presets) {
    const Cell* direct = c.find(preset, recipe, "prompt", task, "id", "direct");
    if (!direct) continue;
    for (const auto& [k, x] : c.by_key)
      if (x.preset == preset && x.recipe == recipe && x.task == task && x.split == "id" && x.adaptation == "prompt" &&
          is_cot(x.method) && same_items(x, *direct) && compare(x, *direct, c.seed).lo > 0)
        return preset;
  }
  return "";
}

std::string cot_threshold(const std::vector<ResultRow>& rows, const std::string& recipe, const std::string& task,
                          uint64_t seed) {
  return cot_threshold_of(make_cells(rows, seed), recipe, task);
}

namespace {

std::string section_scale(const Cells& c, Doc& doc, std::string& brief) {
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
      std::vector<Series> plot;
      std::vector<std::vector<std::string>> table;
      std::vector<std::string> notes;
      for (const auto& m : methods) {
        Series s{m, {}, {}, {}, {}};
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
      doc.figure(svg_plot(fmt::format("{} {}: accuracy vs parameters", recipe, task), "parameters (log)", "accuracy (id)", plot, true));
      for (const auto& n : notes) doc.para("Note: " + n + ".");
      const std::string t = cot_threshold_of(c, recipe, task);
      bool has_cot = false;
      for (const auto& m : methods) has_cot |= is_cot(m);
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
            if (x && is_cot(m) && same_items(*x, *best_ft) && compare(*x, *best_ft, c.seed).lo > 0) first = preset;
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
  return "Q3 (how big): " + v;
}

std::string section_recipes(const Cells& c, Doc& doc, std::string& brief) {
  Tally recipes;
  doc.heading("4. Is scale the only factor?", 2);
  doc.para("At each preset, the pre-training recipes side by side on chain-of-thought and in-context accuracy (ID split).");
  std::vector<std::string> verdicts;
  if (c.recipes.size() < 2) {
    doc.verdict("Only one recipe was trained; nothing to compare.");
    brief = "Q4 recipes: only one recipe was trained.";
    return "Q4 (recipes): only one recipe was trained.";
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
        if (x.preset == preset && x.task == task && x.split == "id" && x.adaptation == "prompt" && (is_cot(x.method) || is_icl(x.method)))
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
  return "Q4 (recipes): " + v;
}

// Where strict (the benchmark's rule) and lenient extraction score items differently: the
// evidence that a number does not depend on a lenient reading.
void section_extraction_audit(const std::vector<ResultRow>& rows, Doc& doc) {
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    if (r.extraction_disagreements.empty()) continue;
    std::vector<std::string> first;
    for (size_t k = 0; k < r.extraction_disagreements.size() && k < 20; ++k)
      first.push_back(std::to_string(r.extraction_disagreements[k]));
    if (r.extraction_disagreements.size() > 20) first.push_back("...");
    table.push_back({fmt::format("{}/{}/s{}", r.preset, r.recipe, r.train_seed), r.adaptation, r.task, r.split, r.method,
                     fmt::format("{:.3f}", r.accuracy_strict), std::to_string(r.extraction_disagreements.size()),
                     fmt::format("{}", fmt::join(first, " "))});
  }
  if (table.empty()) return;
  doc.heading("Extraction audit", 2);
  doc.para("Evaluations in which the task's strict rule (the benchmark's published extraction, used for every number "
           "above) and lenient extraction (fallback guesses) score some items differently; the items are indices into "
           "the split's test items (elab eval --samples marks them with extraction_disagrees).");
  doc.table({"base", "adaptation", "task", "split", "method", "strict accuracy", "items that differ", "items"}, table);
}

// Over training steps: the evaluations during training of each base (--eval-task curves,
// with their transition steps), and the study's evaluations of snapshots beside the
// final model's.
void section_training_steps(const std::vector<JobRecord>& jobs, const std::vector<ResultRow>& rows, Doc& doc) {
  std::vector<const JobRecord*> with_curves;
  std::map<std::string, int64_t> final_step;  // pretrain key -> its last step
  for (const auto& j : jobs)
    if (j.kind == "pretrain" && j.status == "done" && j.result.is_object()) {
      final_step[j.key] = j.result.value("steps", int64_t(0));
      if (j.result.contains("curves") && !j.result["curves"].empty()) with_curves.push_back(&j);
    }
  const bool any_snapshot = std::any_of(rows.begin(), rows.end(), [](const ResultRow& r) { return r.snapshot > 0; });
  if (with_curves.empty() && !any_snapshot) return;
  doc.heading("Over training steps", 2);
  for (const JobRecord* j : with_curves) {
    const std::string base = fmt::format("{}/{}/s{}", j->spec.value("preset", ""), j->spec.value("recipe", ""),
                                         j->spec.value("seed", uint64_t(0)));
    const RunCurves curves = run_curves_from_entries(j->result["curves"], "study job " + j->key);
    doc.heading("Evaluations during training: " + base, 3);
    doc.figure(run_curves_svg(curves, base));
    std::vector<std::vector<std::string>> table;
    auto describe = [&](const Curve& c, double min_change) {
      const Transition t = find_transition(c, min_change);
      table.push_back({c.name, fmt::format("{:.3f}", t.start), fmt::format("{:.3f}", t.end),
                       t.found ? fmt::format("{:.0f}", t.step) : "none", t.found ? fmt::format("{:.0f}", t.width) : "",
                       t.found ? fmt::format("{:.0f}", t.plateau_step) : ""});
    };
    for (const auto& c : curves.accuracies) describe(c, 0.1);
    for (const auto& c : curves.losses) describe(c, 0.05);
    doc.table({"curve", "start", "end", "transition step", "20-80% width", "plateau from"}, table);
  }
  if (!any_snapshot) return;
  doc.para("Snapshots: the base evaluated at the steps [pretrain] save_at kept, and at its last step.");
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    if (r.adaptation != "prompt") continue;
    const bool has_snapshots = std::any_of(rows.begin(), rows.end(), [&](const ResultRow& x) {
      return x.snapshot > 0 && x.preset == r.preset && x.recipe == r.recipe && x.train_seed == r.train_seed &&
             x.task == r.task && x.split == r.split && x.method == r.method;
    });
    if (!has_snapshots) continue;
    table.push_back({fmt::format("{}/{}/s{}", r.preset, r.recipe, r.train_seed), r.task, r.split, r.method,
                     r.snapshot > 0 ? std::to_string(r.snapshot) : "final",
                     fmt::format("{:.3f} [{:.3f}, {:.3f}]", r.accuracy, r.lo, r.hi)});
  }
  doc.table({"base", "task", "split", "method", "step", "accuracy [95% CI]"}, table);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

}  // namespace

StudyReport build_report(const std::vector<JobRecord>& jobs, const std::string& title, uint64_t seed) {
  const auto rows = result_rows(jobs);
  check(!rows.empty(), "no finished evaluations to report (run the study first)");
  const Cells cells = make_cells(rows, seed);
  Doc doc;
  doc.heading("Study report: " + title, 1);
  int done = 0, failed = 0;
  for (const auto& j : jobs) (j.status == "done" ? done : failed) += 1;
  doc.para(fmt::format("{} jobs finished, {} failed; {} evaluations over presets {}, recipes {}, tasks {}. Accuracies are "
                       "exact match with 95% bootstrap CIs; comparisons are paired bootstraps over the same test items; "
                       "\"not enough evidence\" means the interval of the difference includes zero.",
                       done, failed, rows.size(), fmt::join(cells.presets, ", "), fmt::join(cells.recipes, ", "),
                       fmt::join(cells.tasks, ", ")));
  StudyReport report;
  std::string brief[4];
  section_icl_vs_supervised(cells, doc, brief[0]);
  section_prompting_vs_finetuning(cells, doc, brief[1]);
  section_scale(cells, doc, brief[2]);
  section_recipes(cells, doc, brief[3]);
  section_training_steps(jobs, rows, doc);
  section_extraction_audit(rows, doc);
  report.summary = fmt::format("{}\n{}\n{}\n{}", brief[0], brief[1], brief[2], brief[3]);
  report.markdown = doc.md;
  report.html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + xml_escape(title) +
                "</title><style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
                "table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}"
                "th{background:#f3f3f3}.verdict{background:#eef6ee;padding:.5em;border-left:4px solid #2ca02c}</style></head><body>\n" +
                doc.html + "</body></html>\n";
  report.csv = "preset,parameters,recipe,train_seed,adaptation,task,split,method,n,accuracy,ci_low,ci_high,gold_logprob,char_accuracy,snapshot\n";
  for (const auto& r : rows)
    report.csv += fmt::format("{},{},{},{},{},{},{},{},{},{:.6f},{:.6f},{:.6f},{},{:.6f},{}\n", csv_field(r.preset), r.parameters,
                              csv_field(r.recipe), r.train_seed, csv_field(r.adaptation), csv_field(r.task), csv_field(r.split),
                              csv_field(r.method), r.n, r.accuracy, r.lo, r.hi,
                              r.has_logprob ? fmt::format("{:.6f}", r.gold_logprob) : "", r.char_accuracy,
                              r.snapshot > 0 ? std::to_string(r.snapshot) : "");
  return report;
}

void write_report(const StudyReport& report, const std::string& dir) {
  fs::create_directories(dir);
  write_file_atomic(fs::path(dir) / "index.html", report.html);
  write_file_atomic(fs::path(dir) / "report.md", report.markdown);
  write_file_atomic(fs::path(dir) / "results.csv", report.csv);
}

}  // namespace elab
