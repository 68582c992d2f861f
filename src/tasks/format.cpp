#include "tasks/format.h"

#include "core/names.h"

namespace elab {

std::vector<std::string> format_names() { return {"direct", "cot"}; }

Format parse_format(const std::string& name) {
  if (name == "direct") return Format::direct;
  if (name == "cot") return Format::cot;
  fail_unknown("format", name, format_names());
}

const char* format_name(Format f) { return f == Format::direct ? "direct" : "cot"; }

std::string render_prompt(const Example& e) { return "Q: " + e.question + "\nA:"; }

std::string render_target(const Example& e, Format f) {
  if (f == Format::direct) return " " + e.answer + "\n";
  // The chain starts on the line after "A:"; a task without a rationale gives the cue alone.
  return "\n" + e.rationale + "So the answer is " + e.answer + ".\n";
}

std::string render_example(const Example& e, Format f) { return render_prompt(e) + render_target(e, f); }

std::string render_few_shot(const std::vector<Example>& exemplars, Format f, const Example& query) {
  std::string out;
  for (const auto& x : exemplars) out += render_example(x, f) + kExampleSeparator;
  return out + render_prompt(query);
}

std::vector<std::string> stop_sequences(Format f) {
  if (f == Format::direct) return {"\n"};
  return {"\n\n", "\nQ:"};
}

}  // namespace elab
