#include "tasks/format.h"

#include "core/names.h"

namespace elab {

std::vector<std::string> format_names() { return {"direct", "cot", "code", "instruct", "reverse"}; }

Format parse_format(const std::string& name) {
  const Format all[] = {Format::direct, Format::cot, Format::code, Format::instruct, Format::reverse};
  for (Format f : all)
    if (name == format_name(f)) return f;
  fail_unknown("format", name, format_names());
}

const char* format_name(Format f) {
  switch (f) {
    case Format::direct: return "direct";
    case Format::cot: return "cot";
    case Format::code: return "code";
    case Format::instruct: return "instruct";
    case Format::reverse: return "reverse";
  }
  return "?";
}

std::vector<std::string> formats_of(const Task& task, const Example& sample) {
  std::vector<std::string> out = {"direct"};
  if (!sample.rationale.empty()) out.push_back("cot");
  if (!sample.code.empty()) out.push_back("code");
  out.push_back("instruct");
  if (task.answer_kind() == AnswerKind::number) out.push_back("reverse");
  return out;
}

std::string render_prompt(const Example& e, Format f, const std::string& instruction) {
  std::string head = (f == Format::instruct && !instruction.empty()) ? instruction + "\n" : "";
  return head + "Q: " + e.question + "\nA:";
}

std::string render_target(const Example& e, Format f) {
  switch (f) {
    case Format::direct:
    case Format::instruct: return " " + e.answer + "\n";
    case Format::reverse: return " " + std::string(e.answer.rbegin(), e.answer.rend()) + "\n";
    case Format::cot: return "\n" + e.rationale + "So the answer is " + e.answer + ".\n";
    case Format::code:
      if (e.code.empty()) return " " + e.answer + "\n";  // a task without a program answers directly
      return "\n" + e.code + "So the answer is " + e.answer + ".\n";
  }
  return "";
}

std::string render_example(const Example& e, Format f, const std::string& instruction) {
  return render_prompt(e, f, instruction) + render_target(e, f);
}

std::string render_few_shot(const std::vector<Example>& exemplars, Format f, const Example& query) {
  std::string out;
  for (const auto& x : exemplars) out += render_example(x, f) + kExampleSeparator;
  return out + render_prompt(query, f);
}

std::string answer_line_cue(Format f) { return f == Format::cot || f == Format::code ? "answer is" : ""; }

std::string cut_after_answer_line(const std::string& output, const std::string& cue) {
  if (cue.empty()) return output;
  size_t at = output.find(cue);
  if (at == std::string::npos) return output;
  size_t end = output.find('\n', at);
  return end == std::string::npos ? output : output.substr(0, end + 1);
}

std::vector<std::string> stop_sequences(Format f) {
  if (f == Format::direct || f == Format::instruct || f == Format::reverse) return {"\n"};
  return {"\n\n", "\nQ:"};
}

}  // namespace elab
