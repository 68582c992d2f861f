#include "report/doc.h"

#include <fmt/format.h>

namespace elab {

void Doc::heading(const std::string& text, int level) {
  md += std::string(size_t(level), '#') + " " + text + "\n\n";
  html += fmt::format("<h{}>{}</h{}>\n", level, xml_escape(text), level);
}

void Doc::para(const std::string& text) {
  md += text + "\n\n";
  html += "<p>" + xml_escape(text) + "</p>\n";
}

void Doc::verdict(const std::string& text) {
  md += "**Verdict.** " + text + "\n\n";
  html += "<p class=\"verdict\"><b>Verdict.</b> " + xml_escape(text) + "</p>\n";
}

void Doc::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  md += "| " + fmt::format("{}", fmt::join(header, " | ")) + " |\n|";
  for (size_t i = 0; i < header.size(); ++i) md += "---|";
  md += "\n";
  html += fmt::format("<details><summary>Table: {} ({} rows)</summary><table><tr>", xml_escape(fmt::format("{}", fmt::join(header, ", "))),
                      rows.size());
  for (const auto& h : header) html += "<th>" + xml_escape(h) + "</th>";
  html += "</tr>\n";
  for (const auto& r : rows) {
    md += "| " + fmt::format("{}", fmt::join(r, " | ")) + " |\n";
    html += "<tr>";
    for (const auto& c : r) html += "<td>" + xml_escape(c) + "</td>";
    html += "</tr>\n";
  }
  md += "\n";
  html += "</table></details>\n";
}

void Doc::append(const Doc& other) {
  md += other.md;
  html += other.html;
  panels.insert(panels.end(), other.panels.begin(), other.panels.end());
}

void Doc::figure(const std::string& svg) { html += "<figure>" + svg + "</figure>\n"; }

std::string accuracy_chart(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                           const std::vector<ChartSeries>& series, bool log_x) {
  Chart c;
  c.title = title, c.xlabel = xlabel, c.ylabel = ylabel, c.series = series, c.log_x = log_x;
  return chart_svg(c);
}

std::string html_page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + xml_escape(title) +
         "</title><style>body{font-family:sans-serif;max-width:1340px;margin:.6em auto;padding:0 1em;font-size:14px}"
         "h1{font-size:22px;margin:.2em 0}h2{margin-top:1.6em;border-bottom:1px solid #ddd}"
         "table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}"
         "th{background:#f3f3f3}.verdict{background:#eef6ee;padding:.5em;border-left:4px solid #2ca02c}"
         "details{margin:.3em 0}summary{cursor:pointer;color:#335;font-size:13px}"
         ".opening{display:flex;gap:16px;align-items:flex-start}.opening figure{margin:0}figure{margin:.5em 0}.answers{flex:0 0 410px;display:flex;flex-direction:column;gap:6px}"
         ".answer{border:1px solid #ccd;border-radius:4px;padding:4px 8px;font-size:12.5px;line-height:1.3}"
         ".answer h3{font-size:13px;margin:0 0 2px}.answer p{margin:0}.legend{font-size:12px;color:#444}"
         "</style></head><body>\n" +
         body + "</body></html>\n";
}

}  // namespace elab
