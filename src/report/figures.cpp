#include "report/figures.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace elab {

namespace {

const char* kGroups[] = {kOwnLadder, kRealModels, kPublishedLadders};

// Green when the published result is met, red when contradicted, else dark grey.
std::string colour_of(const Finding& f) {
  if (!f.counts()) return "#aaa";
  const std::string a = f.agreement();
  if (a.rfind("as published", 0) == 0) return "#2ca02c";
  if (a.rfind("contrary", 0) == 0) return "#d62728";
  return "#444";
}

std::string shorten(const std::string& s, size_t most) {
  return s.size() <= most ? s : s.substr(0, most - 1) + "\u2026";
}

}  // namespace

std::string forest_svg(const std::string& title, const std::vector<const Finding*>& findings, size_t most) {
  // Which rows are drawn: resolved first, then by distance from zero; then in group order.
  std::vector<const Finding*> kept = findings;
  std::stable_sort(kept.begin(), kept.end(), [](const Finding* a, const Finding* b) {
    if (a->resolved() != b->resolved()) return a->resolved();
    if (a->counts() != b->counts()) return a->counts();
    return std::abs(a->effect) > std::abs(b->effect);
  });
  const size_t left_out = kept.size() > most ? kept.size() - most : 0;
  if (left_out) kept.resize(most);
  std::map<std::string, std::vector<const Finding*>> by_group;
  for (const Finding* f : kept) by_group[f->scale.empty() ? kOwnLadder : f->scale].push_back(f);
  double reach = 0.2;  // the x axis: symmetric about zero, to the farthest CI end, in steps of 0.1
  for (const Finding* f : kept) reach = std::max({reach, std::abs(f->lo), std::abs(f->hi), f->margin.value_or(0)});
  reach = std::min(1.0, std::ceil(reach * 10 - 1e-9) / 10);
  const double W = 900, L = 430, R = 20, top = 50, row_h = 16;
  size_t lines = 0;
  for (const char* g : kGroups)
    if (by_group.count(g)) lines += 1 + by_group[g].size();
  const double H = top + row_h * double(std::max<size_t>(lines, 1)) + (left_out ? 44 : 30);
  auto X = [&](double e) { return L + (std::clamp(e, -reach, reach) + reach) / (2 * reach) * (W - L - R); };
  std::string s = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" class="forest" width="{}" height="{}" font-family="sans-serif">)", W, H);
  s += fmt::format(R"(<text x="4" y="16" font-size="13" font-weight="bold">{}</text>)", xml_escape(title));
  // The legend: the three markers and the two colours.
  s += fmt::format(R"svg(<g font-size="10"><circle cx="{0}" cy="32" r="4" fill="#444"/><text x="{1}" y="35">resolved</text>)svg"
                   R"svg(<circle cx="{2}" cy="32" r="4" fill="white" stroke="#444"/><text x="{3}" y="35">not resolved</text>)svg"
                   R"svg(<path d="M {4} 28 l 8 8 M {4} 36 l 8 -8" stroke="#aaa" stroke-width="2"/><text x="{5}" y="35">does not count (a cell fails its baseline or format)</text>)svg"
                   R"svg(<text x="{6}" y="35" fill="#2ca02c">as published</text><text x="{7}" y="35" fill="#d62728">contrary</text></g>)svg",
                   8, 15, 75, 82, 158, 172, 470, 545);
  const double y0 = top, y1 = top + row_h * double(lines);
  for (int t = -10; t <= 10; ++t) {
    const double e = reach * t / 10.0;
    if (t % 5 != 0 && reach > 0.5) continue;
    const double x = X(e);
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="{3}"/>)", x, y0, y1, t == 0 ? "#000" : "#eee");
    if (t % 5 == 0) s += fmt::format(R"(<text x="{:.1f}" y="{}" font-size="10" text-anchor="middle">{:+.2g}</text>)", x, y1 + 12, e);
  }
  s += fmt::format(R"(<text x="{}" y="{}" font-size="10" text-anchor="middle">effect A - B in accuracy (95% CI)</text>)",
                   (L + W - R) / 2, y1 + 24);
  size_t line = 0;
  for (const char* g : kGroups) {
    if (!by_group.count(g)) continue;
    const double gy = top + row_h * (double(line) + 0.7);
    s += fmt::format(R"(<text x="4" y="{:.1f}" font-size="11" font-weight="bold">{}</text>)", gy, g);
    ++line;
    for (const Finding* f : by_group[g]) {
      const double y = top + row_h * (double(line) + 0.5);
      const std::string colour = colour_of(*f);
      const std::string tip = xml_escape(fmt::format("{}: {}. {:+.3f} [{:+.3f}, {:+.3f}]; {}", f->comparison, f->claim, f->effect,
                                                     f->lo, f->hi, f->agreement()));
      s += fmt::format(R"(<g><title>{}</title>)", tip);
      s += fmt::format(R"(<text x="12" y="{:.1f}" font-size="10">{}</text>)", y + 3, xml_escape(shorten(f->comparison, 78)));
      if (f->margin)
        s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{}" fill="#cde"/>)", X(-*f->margin), y - 6,
                         X(*f->margin) - X(-*f->margin), 12);
      s += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="1.5"/>)", X(f->lo), y,
                       X(f->hi), y, colour);
      const double x = X(f->effect);
      if (!f->counts())
        s += fmt::format(R"(<path d="M {0:.1f} {1:.1f} l 8 8 M {0:.1f} {2:.1f} l 8 -8" stroke="#aaa" stroke-width="2"/>)", x - 4, y - 4,
                         y + 4);
      else if (f->resolved())
        s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="4" fill="{}"/>)", x, y, colour);
      else
        s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="4" fill="white" stroke="{}" stroke-width="1.5"/>)", x, y, colour);
      s += "</g>";
      ++line;
    }
  }
  if (left_out)
    s += fmt::format(R"(<text x="4" y="{}" font-size="10" fill="#666">{} more comparisons, nearer zero and not resolved: in the tables below and verdicts.json</text>)",
                     H - 4, left_out);
  return s + "</svg>";
}

std::string facets_svg(const std::string& title, const std::vector<Panel>& panels) {
  std::vector<std::string> rows, columns;
  for (const auto& p : panels) {
    if (std::find(rows.begin(), rows.end(), p.row) == rows.end()) rows.push_back(p.row);
    if (std::find(columns.begin(), columns.end(), p.column) == columns.end()) columns.push_back(p.column);
  }
  // The x range every panel shares.
  double first = INFINITY, last = -INFINITY;
  bool log_x = !panels.empty() && panels.front().chart.log_x;
  for (const auto& p : panels)
    for (const auto& se : p.chart.series)
      for (double x : se.x)
        if (!log_x || x > 0) first = std::min(first, x), last = std::max(last, x);
  // One colour per series name across the figure, so that a line means the same in every panel.
  std::vector<std::string> names;
  for (const auto& p : panels)
    for (const auto& se : p.chart.series)
      if (std::find(names.begin(), names.end(), se.name) == names.end()) names.push_back(se.name);
  const double pw = 330, ph = 210, label_w = 24, head = 44;
  const double W = label_w + pw * double(columns.size()), H = head + ph * double(rows.size());
  std::string s = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" class="facets" width="{}" height="{}" font-family="sans-serif">)", W, H);
  s += fmt::format(R"(<text x="4" y="16" font-size="13" font-weight="bold">{}</text>)", xml_escape(title));
  for (size_t c = 0; c < columns.size(); ++c)
    s += fmt::format(R"(<text x="{:.1f}" y="36" font-size="11" font-weight="bold" text-anchor="middle">{}</text>)",
                     label_w + pw * (double(c) + 0.5), xml_escape(columns[c]));
  for (size_t r = 0; r < rows.size(); ++r)
    s += fmt::format(R"svg(<text x="14" y="{0:.1f}" font-size="11" font-weight="bold" text-anchor="middle" transform="rotate(-90 14 {0:.1f})">{1}</text>)svg",
                     head + ph * (double(r) + 0.5), xml_escape(rows[r]));
  for (const auto& p : panels) {
    const size_t r = size_t(std::find(rows.begin(), rows.end(), p.row) - rows.begin());
    const size_t c = size_t(std::find(columns.begin(), columns.end(), p.column) - columns.begin());
    Chart chart = p.chart;
    chart.width = pw, chart.height = ph, chart.left = 40, chart.right = 78, chart.top = 0;
    chart.x_first = first, chart.x_last = last;
    chart.unit_y = true;
    chart.ylabel = "";  // the figure's title names it; a label would sit on the ticks of a small panel
    for (auto& se : chart.series) se.colour = int(std::find(names.begin(), names.end(), se.name) - names.begin());
    s += fmt::format(R"svg(<g transform="translate({:.1f},{:.1f})" font-size="9">)svg", label_w + pw * double(c), head + ph * double(r) - 20);
    s += chart_elements(chart) + "</g>";
  }
  return s + "</svg>";
}

}  // namespace elab
