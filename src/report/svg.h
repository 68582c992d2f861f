#pragma once
// The one SVG line chart of the report and of `elab plot`, and what the SVG and HTML
// writers share. Torch-free.
#include <cmath>
#include <string>
#include <vector>

namespace elab {

// Text made safe inside XML/HTML: < > & and " as entities.
std::string xml_escape(const std::string& s);

struct ChartSeries {
  std::string name;                 // the legend's text
  std::vector<double> x, y;
  std::vector<double> lo, hi;       // 95% CI bars per point; empty = none
  double mark_x = NAN;              // a dashed vertical line here (a transition); NAN = none
  int colour = -1;                  // an index into the palette; -1 = the series' position
};

struct Chart {
  std::string title, xlabel, ylabel;
  std::vector<ChartSeries> series;
  bool log_x = false;
  bool unit_y = true;          // y over [0, 1]; else the data's range
  bool ticks_at_data = true;   // x ticks at the data's x values; else decades (log) or 6 even ticks
  bool dots = true;            // a dot at every point
  double x_first = NAN, x_last = NAN;  // the x range; NAN = the data's
  double width = 520, height = 300, left = 60, right = 150;
  double top = 0;              // where the chart starts inside a larger SVG
};

// The chart's elements (for a panel inside a larger SVG), at `top`.
std::string chart_elements(const Chart& chart);
// The chart as a whole <svg> document.
std::string chart_svg(const Chart& chart);

// 1.5M, 20K, 300.
std::string short_number(double x);

}  // namespace elab
