#include "tasks/format.h"

#include <algorithm>

#include "core/error.h"
#include "core/names.h"

namespace elab {

namespace {

std::string answer_line(const std::string& answer) { return " " + answer + "\n"; }
std::string reversed(const std::string& s) { return std::string(s.rbegin(), s.rend()); }
bool always(const Task&, const Example&) { return true; }

// The first line of an output, its characters reversed, outer whitespace kept outside:
// " 021\n" -> " 120\n", so 120 written least-significant digit first reads as 120.
std::string unreverse_answer_line(const std::string& output) {
  const size_t end = output.find('\n');
  std::string line = output.substr(0, end);
  const size_t first = line.find_first_not_of(" \t"), last = line.find_last_not_of(" \t\r");
  if (first == std::string::npos) return output;
  std::string body = line.substr(first, last - first + 1);
  std::reverse(body.begin(), body.end());
  return line.substr(0, first) + body + (end == std::string::npos ? "" : output.substr(end));
}

// One line per format; the position is the format's id (Format::direct is 0, ...).
std::vector<FormatDef>& table() {
  static std::vector<FormatDef> formats = {
      {"direct", "the answer right after \"A:\"", [](const Example& e) { return answer_line(e.answer); }, always},
      {"cot", "a rationale, then \"So the answer is X.\"",
       [](const Example& e) { return "\n" + e.rationale + "So the answer is " + e.answer + ".\n"; },
       [](const Task&, const Example& e) { return !e.rationale.empty(); }, false, true},
      {"code", "a program, then \"So the answer is X.\"",
       [](const Example& e) {
         if (e.code.empty()) return answer_line(e.answer);  // a task without a program answers directly
         return "\n" + e.code + "So the answer is " + e.answer + ".\n";
       },
       [](const Task&, const Example& e) { return !e.code.empty(); }, false, true},
      {"instruct", "the task's instruction line, then the direct answer",
       [](const Example& e) { return answer_line(e.answer); }, always, true},
      {"reverse", "the answer's characters reversed (Lee et al. 2023)",
       [](const Example& e) { return answer_line(reversed(e.answer)); },
       [](const Task& t, const Example&) { return t.answer_kind() == AnswerKind::number; }, false, false,
       unreverse_answer_line},
  };
  return formats;
}

}  // namespace

void register_format(FormatDef format) {
  check(!format.name.empty() && format.target && format.available, "a format needs a name, a target and available");
  for (const auto& f : table()) check(f.name != format.name, "format {} is already registered", format.name);
  table().push_back(std::move(format));
}

std::vector<std::string> format_names() {
  std::vector<std::string> names;
  for (const auto& f : table()) names.push_back(f.name);
  return names;
}

Format parse_format(const std::string& name) {
  for (size_t i = 0; i < table().size(); ++i)
    if (table()[i].name == name) return Format{int(i)};
  fail_unknown("format", name, format_names());
}

const FormatDef& format_def(Format f) {
  check(f.id >= 0 && size_t(f.id) < table().size(), "format id {} is not registered", f.id);
  return table()[size_t(f.id)];
}

const char* format_name(Format f) { return format_def(f).name.c_str(); }

std::vector<std::string> formats_of(const Task& task, const Example& sample) {
  std::vector<std::string> out;
  for (const auto& f : table())
    if (f.available(task, sample)) out.push_back(f.name);
  return out;
}

std::string render_prompt(const Example& e, Format f, const std::string& instruction) {
  std::string head = (format_def(f).instruction_line && !instruction.empty()) ? instruction + "\n" : "";
  return head + "Q: " + e.question + "\nA:";
}

std::string render_target(const Example& e, Format f) { return format_def(f).target(e); }

std::string render_example(const Example& e, Format f, const std::string& instruction) {
  return render_prompt(e, f, instruction) + render_target(e, f);
}

std::string render_few_shot(const std::vector<Example>& exemplars, Format f, const Example& query) {
  std::string out;
  for (const auto& x : exemplars) out += render_example(x, f) + kExampleSeparator;
  return out + render_prompt(query, f);
}

std::string answer_line_cue(Format f) { return format_def(f).chain ? "answer is" : ""; }

std::string cut_after_answer_line(const std::string& output, const std::string& cue) {
  if (cue.empty()) return output;
  size_t at = output.find(cue);
  if (at == std::string::npos) return output;
  size_t end = output.find('\n', at);
  return end == std::string::npos ? output : output.substr(0, end + 1);
}

std::vector<std::string> stop_sequences(Format f) {
  if (!format_def(f).chain) return {"\n"};
  return {"\n\n", "\nQ:"};
}

}  // namespace elab
