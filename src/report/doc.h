#pragma once
// A document written as Markdown and HTML at once: the report's sections add headings,
// paragraphs, verdicts, tables and figures to both. Torch-free.
#include <string>
#include <vector>

#include "report/figures.h"
#include "report/svg.h"

namespace elab {

struct Doc {
  std::string md, html;
  // Per-cell charts a section hands over; the report draws them as one faceted figure
  // (report/figures.h) at the head of the section, not one chart each.
  std::vector<Panel> panels;
  void heading(const std::string& text, int level);
  void para(const std::string& text);
  void verdict(const std::string& text);
  // In HTML a table is collapsed (<details>) under a line naming it and its rows: the
  // figures come first, the tables on demand. Markdown shows it whole.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  void figure(const std::string& svg);  // HTML only
  void panel(Panel p) { panels.push_back(std::move(p)); }
  void append(const Doc& other);  // its text and its panels
};

// An accuracy chart (y over [0, 1]) with CI bars and a tick at every x of the data.
std::string accuracy_chart(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                           const std::vector<ChartSeries>& series, bool log_x);

// The whole HTML page around a document's body.
std::string html_page(const std::string& title, const std::string& body);

}  // namespace elab
