// Q3 and Q4 at every scale: chain-of-thought minus direct answers of the same model on the
// same task, metric and answer filter, against parameters and FLOPs, per family; each
// family's threshold (the smallest size from which the gain's CI stays above zero), set
// against the published ~62B (Wei et al. 2022; Chung et al. 2022, table 5); families that
// never gain beside families that gain below 1B (scale is necessary, not sufficient).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "report/scale_rows.h"

namespace elab {

namespace {

// One size of a family's series: its models' (and seeds') CoT - direct, pooled.
struct CotPoint {
  const ResultRow* chain;   // one of them, for the table's names and scores
  const ResultRow* direct;
  std::vector<RowDifference> parts;
  RowDifference d;          // the pooled difference
};

std::string run(RowAnalysisContext& c) {
  // (model, task, metric, format, seed) -> style -> row, at each model's last checkpoint.
  std::map<std::string, std::map<std::string, const ResultRow*>> by;
  for (const ResultRow* r : final_checkpoint(c.rows)) {
    if (r->method.style != "chain" && r->method.style != "direct") continue;
    // Few-shot against few-shot, as Wei et al. 2022 compare them: each style's row with the most shots.
    auto& slot = by[fmt::format("{}|{}|{}|{}|{}", r->model.name, r->task, r->metric.name, r->method.format, r->seed)][r->method.style];
    if (!slot || r->method.shots > slot->method.shots) slot = r;
  }
  // family (and variant) -> (task, metric, format) -> size -> point
  std::map<std::string, std::map<std::string, std::map<double, CotPoint>>> by_size;
  for (const auto& [k, styles] : by) {
    if (!styles.count("chain") || !styles.count("direct")) continue;
    const ResultRow* ch = styles.at("chain");
    const ResultRow* di = styles.at("direct");
    if (!std::isfinite(ch->model.parameters)) continue;
    CotPoint& p = by_size[series_family(ch->model)][fmt::format("{} {} {}", ch->task, ch->metric.name, ch->method.format)][ch->model.parameters];
    if (!p.chain) p.chain = ch, p.direct = di;
    p.parts.push_back(difference(*ch, *di));
  }
  std::map<std::string, std::map<std::string, std::vector<CotPoint>>> fam;
  for (auto& [family, series] : by_size)
    for (auto& [k, sizes] : series)
      for (auto& [x, p] : sizes) {
        const PooledDifference pooled = pool(p.parts);
        p.d = {pooled.diff, pooled.lo, pooled.hi, false};
        fam[family][k].push_back(p);
      }
  if (fam.empty()) return "";
  c.doc.heading("Q3 at every scale: chain-of-thought minus direct answers, by family", 3);
  c.doc.para("Each model's chain-of-thought accuracy minus its direct-answer accuracy on the same task, metric and answer "
             "filter (lm-evaluation-harness's strict-match and flexible-extract are compared separately, never mixed). A "
             "family's threshold is the smallest size from which the gain's 95% CI is above zero at every larger size; the "
             "interval is between that size and the one below it. Published: chain-of-thought helps only from about 62B "
             "(Wei et al. 2022; Chung et al. 2022, table 5) and hurts or does nothing below ~10B. The verdicts use "
             "flexible-extract where a family has it: base models answering directly often write the answer without the "
             "strict filter's cue, so strict-match scores their format, not their answer (the direct rows' strict and "
             "flexible scores are both in the table).");
  std::vector<std::vector<std::string>> table, thresholds;
  int families = 0;
  std::set<std::string> never_names, small_names;
  for (auto& [family, series] : fam) {
    // The series the verdicts read: per task and metric, flexible-extract when present.
    std::map<std::string, std::string> chosen;  // "task metric" -> its series
    for (const auto& [k, pts] : series) {
      const std::string base = pts.front().chain->task + " " + pts.front().chain->metric.name;
      const bool flexible = k.find("flexible") != std::string::npos;
      auto it = chosen.find(base);
      if (it == chosen.end() || (flexible && it->second.find("flexible") == std::string::npos)) chosen[base] = k;
    }
    std::set<std::string> read;
    bool gained = false;
    for (const auto& [b, k] : chosen) read.insert(k);
    for (auto& [k, pts] : series) {
      for (const auto& p : pts)
        table.push_back({family, p.chain->model.name, size_label(p.chain->model.parameters), size_label(p.chain->model.flops),
                         k, fmt::format("{:.3f}", p.chain->value), fmt::format("{:.3f}", p.direct->value),
                         effect_ci(p.d.diff, p.d.lo, p.d.hi)});
      if (!read.count(k)) continue;
      // The threshold: the smallest index from which every larger size is resolved above zero.
      size_t from = pts.size();
      while (from > 0 && pts[from - 1].d.lo > 0) --from;
      std::string where;
      if (from == pts.size()) {
        where = fmt::format("no gain at any size up to {}", size_label(pts.back().chain->model.parameters));
      } else {
        const double at = pts[from].chain->model.parameters;
        where = from == 0 ? fmt::format("at or below {} (its smallest)", size_label(at))
                          : fmt::format("between {} and {}", size_label(pts[from - 1].chain->model.parameters), size_label(at));
        c.marks.push_back({family, "CoT > direct (" + k + ")", at});
        gained = true;
        if (at < 1e9) small_names.insert(family);
      }
      thresholds.push_back({family, k, std::to_string(pts.size()), where});
      const CotPoint& big = pts.back();
      const double p = big.chain->model.parameters;
      c.findings.push_back(make_finding(
          "Q3", p >= 62e9 ? "chain-of-thought beats direct answers at 62B and above" : "chain-of-thought beats direct answers below 62B",
          fmt::format("{} {} ({}): {} CoT - direct", family, size_label(p), big.chain->model.name, k),
          {big.d.diff, std::isfinite(big.d.lo) ? big.d.lo : -INFINITY, std::isfinite(big.d.hi) ? big.d.hi : INFINITY},
          "Wei et al. 2022; Chung et al. 2022 (CoT helps from ~62B, not below)", p >= 62e9 ? 1 : 0,
          p >= 62e9 ? std::nullopt : std::optional<double>(kCotBelowScaleMargin)));
    }
    ++families;
    if (!gained) never_names.insert(family);
  }
  c.doc.table({"family", "model", "parameters", "FLOPs", "task metric filter", "CoT", "direct", "CoT - direct [95% CI]"}, table);
  c.doc.para("Each family's chain-of-thought threshold (the series its verdict reads):");
  c.doc.table({"family", "series", "sizes", "threshold"}, thresholds);
  const std::string summary = fmt::format(
      "{} families compared; {} gain from chain-of-thought below 1B ({}); {} never gain at any size they reach ({})",
      families, small_names.size(), fmt::join(small_names, ", "), never_names.size(), fmt::join(never_names, ", "));
  c.doc.verdict(summary + ". Scale is necessary for some families and not sufficient for others: the threshold is a "
                "property of the family (data, code, instructions), not of parameters alone.");
  return summary;
}

}  // namespace

RowAnalysis cot_analysis() { return {"cot-by-family", "Q3", "chain-of-thought minus direct by family", run}; }

}  // namespace elab
