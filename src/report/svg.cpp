#include "report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace elab {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string short_number(double x) {
  if (x >= 1e9) return fmt::format("{:g}B", x / 1e9);
  if (x >= 1e6) return fmt::format("{:g}M", x / 1e6);
  if (x >= 1e3) return fmt::format("{:g}K", x / 1e3);
  return fmt::format("{:g}", x);
}

std::string chart_elements(const Chart& c) {
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  const double W = c.width, L = c.left, R = c.right, T = c.top + 28, B = 40, bottom = c.top + c.height;
  auto xs = [&](double x) { return c.log_x ? std::log10(x) : x; };
  double xmin = INFINITY, xmax = -INFINITY, ymin = c.unit_y ? 0 : INFINITY, ymax = c.unit_y ? 1 : -INFINITY;
  for (const auto& s : c.series)
    for (size_t k = 0; k < s.x.size(); ++k) {
      if (c.log_x && s.x[k] <= 0) continue;
      xmin = std::min(xmin, xs(s.x[k])), xmax = std::max(xmax, xs(s.x[k]));
      if (!c.unit_y && std::isfinite(s.y[k])) ymin = std::min(ymin, s.y[k]), ymax = std::max(ymax, s.y[k]);
    }
  if (std::isfinite(c.x_first)) xmin = xs(c.x_first);
  if (std::isfinite(c.x_last)) xmax = xs(c.x_last);
  if (!std::isfinite(xmin) || !std::isfinite(xmax)) xmin = 0, xmax = 1;
  if (xmax - xmin < 1e-9) xmin -= 0.5, xmax += 0.5;
  if (!std::isfinite(ymin)) ymin = 0, ymax = 1;
  if (ymax - ymin < 1e-9) ymax = ymin + 1;
  auto px = [&](double x) { return L + (xs(x) - xmin) / (xmax - xmin) * (W - L - R); };
  auto py = [&](double y) { return T + (ymax - std::clamp(y, ymin, ymax)) / (ymax - ymin) * (bottom - B - T); };

  std::string s = fmt::format(R"svg(<text x="{}" y="{}" font-size="13" font-weight="bold">{}</text>)svg", L, c.top + 18,
                              xml_escape(c.title));
  for (int i = 0; i <= 4; ++i) {
    const double y = ymin + (ymax - ymin) * i / 4.0;
    s += fmt::format(R"svg(<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" stroke="#ddd"/><text x="{}" y="{:.1f}" font-size="10" text-anchor="end">{:.3g}</text>)svg",
                     L, W - R, py(y), py(y), L - 4, py(y) + 3, y);
  }
  std::set<double> ticks;
  if (c.ticks_at_data) {
    for (const auto& se : c.series)
      for (double x : se.x)
        if (!c.log_x || x > 0) ticks.insert(x);
  } else if (c.log_x) {
    for (double d = std::pow(10.0, std::floor(xmin)); std::log10(d) <= xmax + 1e-9; d *= 10)
      if (std::log10(d) >= xmin - 1e-9) ticks.insert(d);
  } else {
    for (int i = 0; i <= 5; ++i) ticks.insert(std::round(xmin + (xmax - xmin) * i / 5.0));
  }
  for (double x : ticks)
    s += fmt::format(R"svg(<text x="{:.1f}" y="{}" font-size="10" text-anchor="middle">{}</text>)svg", px(x), bottom - B + 14,
                     short_number(x));
  s += fmt::format(R"svg(<text x="{}" y="{}" font-size="11" text-anchor="middle">{}</text>)svg", (L + W - R) / 2, bottom - 8,
                   xml_escape(c.xlabel));
  if (!c.ylabel.empty()) {
    const double mid = (T + bottom - B) / 2;
    s += fmt::format(R"svg(<text x="14" y="{0}" font-size="11" transform="rotate(-90 14 {0})" text-anchor="middle">{1}</text>)svg",
                     mid, xml_escape(c.ylabel));
  }
  for (size_t i = 0; i < c.series.size(); ++i) {
    const ChartSeries& se = c.series[i];
    const char* color = c.series[i].colour >= 0 ? colors[c.series[i].colour % 8] : colors[i % 8];
    std::string points;
    for (size_t k = 0; k < se.x.size(); ++k) {
      if (c.log_x && se.x[k] <= 0) continue;
      points += fmt::format("{:.1f},{:.1f} ", px(se.x[k]), py(se.y[k]));
      if (k < se.lo.size())
        s += fmt::format(R"svg(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1:.1f}" y2="{2:.1f}" stroke="{3}" opacity="0.4"/>)svg",
                         px(se.x[k]), py(se.lo[k]), py(se.hi[k]), color);
      if (c.dots)
        s += fmt::format(R"svg(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"/>)svg", px(se.x[k]), py(se.y[k]), color);
    }
    s += fmt::format(R"svg(<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5"/>)svg", points, color);
    if (std::isfinite(se.mark_x))
      s += fmt::format(R"svg(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}" stroke="{3}" stroke-dasharray="4 3"/>)svg",
                       px(c.log_x ? std::max(se.mark_x, 1e-9) : se.mark_x), T, bottom - B, color);
    s += fmt::format(R"svg(<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="10">{}</text>)svg",
                     W - R + 8, T + 16 * double(i), color, W - R + 22, T + 16 * double(i) + 9, xml_escape(se.name));
  }
  return s;
}

std::string chart_svg(const Chart& c) {
  const double H = c.top + c.height;
  return fmt::format(R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img"><rect width="{0}" height="{1}" fill="white"/>)svg",
                     c.width, H) +
         chart_elements(c) + "</svg>";
}

}  // namespace elab
