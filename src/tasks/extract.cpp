#include "tasks/extract.h"

#include <cctype>
#include <regex>

namespace elab {

std::string normalize_number(const std::string& text) {
  std::string s;
  for (char c : text)
    if (c != ',' && c != '$' && !std::isspace(static_cast<unsigned char>(c))) s.push_back(c);
  while (!s.empty() && s.back() == '.') s.pop_back();
  static const std::regex number(R"(^([+-]?)(\d+)(?:\.(\d+))?$)");
  std::smatch m;
  if (!std::regex_match(s, m, number)) return "";
  std::string sign = m[1] == "-" ? "-" : "", integer = m[2], frac = m[3];
  integer.erase(0, std::min(integer.find_first_not_of('0'), integer.size() - 1));
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  std::string out = integer + (frac.empty() ? "" : "." + frac);
  if (out == "0") sign = "";
  return sign + out;
}

std::string extract_number(const std::string& output) {
  static const std::regex num(R"([+-]?\$?\d[\d,]*(?:\.\d+)?)");
  static const std::regex cue(R"((?:[Tt]he answer is|####)\s*:?\s*)");
  // After the last cue, the first number; otherwise the last number anywhere.
  size_t from = std::string::npos;
  for (std::sregex_iterator it(output.begin(), output.end(), cue), end; it != end; ++it)
    from = size_t(it->position() + it->length());
  if (from != std::string::npos) {
    std::smatch m;
    std::string rest = output.substr(from);
    if (std::regex_search(rest, m, num) && m.position() < 16) return normalize_number(m.str());
  }
  std::string last;
  for (std::sregex_iterator it(output.begin(), output.end(), num), end; it != end; ++it) last = it->str();
  return last.empty() ? "" : normalize_number(last);
}

}  // namespace elab
