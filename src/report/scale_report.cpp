// The analyses over result rows, registered here, and the report's one scale axis.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "report/scale_rows.h"
#include "report/svg.h"

namespace elab {

static std::vector<RowAnalysis>& analyses() {
  static std::vector<RowAnalysis> table = {
      icl_gain_analysis(),
      threshold_analysis(),
      cot_analysis(),
      metric_artefact_analysis(),
      variant_analysis(),
  };
  return table;
}

const std::vector<RowAnalysis>& row_analyses() { return analyses(); }

void register_row_analysis(RowAnalysis analysis) {
  for (const auto& a : analyses()) check(a.name != analysis.name, "analysis {} is already registered", analysis.name);
  analyses().push_back(std::move(analysis));
}

std::string series_family(const RowModel& m) { return m.variant == "base" ? m.family : m.family + " (" + m.variant + ")"; }

std::string subtask_group(const std::string& task) {
  if (task.rfind("hendrycksTest-", 0) == 0 || task.rfind("mmlu_", 0) == 0) return "mmlu";
  const size_t u = task.find_last_of('_');
  if (u != std::string::npos && u + 1 < task.size() && task.find_first_not_of("0123456789", u + 1) == std::string::npos)
    return task.substr(0, u);
  return task;
}

std::vector<const ResultRow*> final_checkpoint(const std::vector<ResultRow>& rows) {
  std::map<std::string, int64_t> last;  // model -> its last step (-1 = final weights, which wins)
  for (const auto& r : rows) {
    auto [it, fresh] = last.emplace(r.model.name, r.model.step);
    if (!fresh && later_checkpoint(r.model.step, it->second)) it->second = r.model.step;
  }
  std::vector<const ResultRow*> out;
  for (const auto& r : rows)
    if (r.model.step == last[r.model.name]) out.push_back(&r);
  return out;
}

std::map<std::string, std::vector<const ResultRow*>> by_family(const std::vector<const ResultRow*>& rows) {
  std::map<std::string, std::vector<const ResultRow*>> out;
  for (const auto* r : rows) out[r->model.family].push_back(r);
  for (auto& [f, v] : out)
    std::stable_sort(v.begin(), v.end(), [](const ResultRow* a, const ResultRow* b) {
      return a->model.parameters < b->model.parameters;
    });
  return out;
}

std::string size_label(double x) {
  if (!std::isfinite(x)) return "?";
  if (x >= 1e12) return fmt::format("{:.3g}T", x / 1e12);
  if (x >= 1e9) return fmt::format("{:.3g}B", x / 1e9);
  if (x >= 1e6) return fmt::format("{:.3g}M", x / 1e6);
  if (x >= 1e3) return fmt::format("{:.3g}K", x / 1e3);
  return fmt::format("{:.3g}", x);
}

std::string effect_ci(double d, double lo, double hi) {
  if (!std::isfinite(lo)) return fmt::format("{:+.3f} [no CI]", d);
  return fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", d, lo, hi);
}

PooledDifference pool(const std::vector<RowDifference>& parts) {
  PooledDifference p;
  double sum = 0, var = 0;
  bool all_ci = true;
  for (const auto& d : parts) {
    if (!std::isfinite(d.diff)) continue;
    sum += d.diff;
    const double se = (d.hi - d.lo) / (2 * 1.96);
    if (std::isfinite(se)) var += se * se;
    else all_ci = false;
    ++p.parts;
  }
  if (p.parts == 0) return p;
  p.diff = sum / p.parts;
  if (all_ci) {
    const double se = std::sqrt(var) / p.parts;
    p.lo = p.diff - 1.96 * se, p.hi = p.diff + 1.96 * se;
  }
  return p;
}

RowDifference minus(const PooledDifference& a, const PooledDifference& b) {
  RowDifference d;
  d.diff = a.diff - b.diff;
  const double sa = (a.hi - a.lo) / 3.92, sb = (b.hi - b.lo) / 3.92;
  const double se = std::sqrt(sa * sa + sb * sb);
  d.lo = d.diff - 1.96 * se, d.hi = d.diff + 1.96 * se;
  return d;
}

PairedDifference as_paired(const PooledDifference& d) {
  PairedDifference p;
  p.diff = d.diff;
  p.lo = std::isfinite(d.lo) ? d.lo : d.diff;
  p.hi = std::isfinite(d.hi) ? d.hi : d.diff;
  if (!std::isfinite(d.lo)) p.lo = -INFINITY, p.hi = INFINITY;  // no CI: never resolved
  return p;
}

// The one scale axis: every family's models by size (log10 parameters, 10^4 to 10^12), and
// each family's thresholds marked.
std::string scale_axis_svg(const std::vector<ResultRow>& rows, const std::vector<ScaleMark>& marks) {
  std::map<std::string, std::set<double>> sizes;
  for (const auto& r : rows)
    if (std::isfinite(r.model.parameters) && r.model.parameters > 0) sizes[series_family(r.model)].insert(r.model.parameters);
  std::set<std::string> marked;
  for (const auto& m : marks) marked.insert(m.family);
  // Families with a mark or several sizes (all of them when there are few); by their largest model.
  std::vector<std::string> families;
  for (const auto& [f, s] : sizes)
    if (marked.count(f) || s.size() >= 2 || sizes.size() <= 24) families.push_back(f);
  std::sort(families.begin(), families.end(), [&](const std::string& a, const std::string& b) {
    return *sizes[a].rbegin() < *sizes[b].rbegin();
  });
  const double L = 210, W = 900, R = 30, top = 48, row_h = 15;
  const double H = top + row_h * double(families.size()) + 50;
  const double lo = 4, hi = 12;
  auto X = [&](double p) { return L + (std::log10(p) - lo) / (hi - lo) * (W - L - R); };
  std::string s = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif">)", W, H);
  s += fmt::format(R"(<text x="{}" y="16" font-size="13" font-weight="bold">One scale axis: every model by parameters, and where each family's thresholds lie</text>)", L);
  s += fmt::format(R"svg(<path d="M {0} 24 l 5 9 l -10 0 z" fill="#ff7f0e"/><text x="{1}" y="33" font-size="10">chain-of-thought beats direct answers</text>)svg"
                   R"svg(<rect x="{2}" y="25" width="8" height="8" fill="#2ca02c" transform="rotate(45 {3} 29)"/><text x="{4}" y="33" font-size="10">in-context gain above zero</text>)svg",
                   L + 5, L + 14, L + 230, L + 234, L + 244);
  for (int e = int(lo); e <= int(hi); ++e) {
    const double x = X(std::pow(10.0, e));
    s += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#ddd"/><text x="{0}" y="{3}" font-size="10" text-anchor="middle">1e{4}</text>)",
                     x, top - 6, H - 40, H - 26, e);
  }
  for (double ref : {62e9, 175e9}) {
    const double x = X(ref);
    s += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#d62728" stroke-dasharray="4,3"/><text x="{3}" y="{4}" font-size="10" fill="#d62728" text-anchor="{5}">{6}</text>)",
                     x, top - 6, H - 40, ref == 62e9 ? x - 3 : x + 3, H - 12, ref == 62e9 ? "end" : "start",
                     ref == 62e9 ? "62B: CoT > direct (Wei et al. 2022)" : "175B");
  }
  for (size_t i = 0; i < families.size(); ++i) {
    const double y = top + row_h * (double(i) + 0.5);
    s += fmt::format(R"(<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>)", L - 6, y + 3, xml_escape(families[i]));
    const auto& sz = sizes[families[i]];
    s += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>)", X(*sz.begin()), y, X(*sz.rbegin()), y);
    for (double p : sz) s += fmt::format(R"(<circle cx="{}" cy="{}" r="2.5" fill="#1f77b4"/>)", X(p), y);
    for (const auto& m : marks) {
      if (m.family != families[i]) continue;
      const double x = X(m.parameters);
      const std::string title = fmt::format("<title>{}: {} at {}</title>", xml_escape(m.family), xml_escape(m.what), size_label(m.parameters));
      if (m.what.rfind("CoT", 0) == 0)
        s += fmt::format(R"(<path d="M {} {} l 5 9 l -10 0 z" fill="#ff7f0e">{}</path>)", x, y - 5, title);
      else
        s += fmt::format(R"svg(<rect x="{}" y="{}" width="7" height="7" fill="#2ca02c" transform="rotate(45 {} {})">{}</rect>)svg", x - 3.5, y - 3.5, x, y, title);
    }
  }
  s += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="middle">parameters (log scale)</text>)", (L + W - R) / 2, H - 2);
  return s + "</svg>";
}

std::string row_report_sections(const std::vector<ResultRow>& rows, Doc& doc, std::vector<Finding>& findings,
                                std::vector<ScaleMark>& marks) {
  Doc body;
  RowAnalysisContext ctx{rows, body, findings, marks};
  std::string summary;
  for (const auto& a : row_analyses()) {
    const std::string line = a.run(ctx);
    if (!line.empty()) summary += a.question + " (" + a.name + "): " + line + "\n";
  }
  std::set<std::string> sources, families;
  for (const auto& r : rows) {
    sources.insert(r.source.substr(0, r.source.find(':')));
    families.insert(r.model.family);
  }
  doc.heading("Results at every scale", 2);
  doc.para(fmt::format("{} result rows from {} importer(s) over {} model families. Each analysis below names the published "
                       "result it meets or contradicts; intervals are 95% CIs, paired over items where the source gives "
                       "per-item outcomes, else from the sources' standard errors (or the binomial error of n items).",
                       rows.size(), sources.size(), families.size()));
  // The scale axis itself opens the report (report.cpp); its marks are listed here.
  std::vector<std::vector<std::string>> mark_rows;
  for (const auto& m : marks) mark_rows.push_back({m.family, m.what, size_label(m.parameters)});
  if (!mark_rows.empty()) doc.table({"family", "threshold", "at parameters"}, mark_rows);
  doc.md += body.md;
  doc.html += body.html;
  return summary;
}

}  // namespace elab
