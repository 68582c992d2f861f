#pragma once
// How an example becomes text. Every format shares one layout, so that a prompt, a
// training document and a fine-tuning example look alike:
//
//   [instruction line]            instruct only
//   Q: <question>
//   A: <target>                   direct, instruct: the answer
//                                 reverse: the answer's characters reversed
//                                 cot:  newline, rationale lines, "So the answer is X."
//                                 code: newline, program lines, "So the answer is X."
//   (blank line between examples)
#include <functional>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace elab {

// A format by its place in the format registry (format.cpp). The built-in ones have
// names in code (Format::cot); any format, built in or added, is found by parse_format.
struct Format {
  int id = 0;
  friend constexpr bool operator==(Format, Format) = default;
  static const Format direct, cot, code, instruct, reverse;
};
inline constexpr Format Format::direct{0};
inline constexpr Format Format::cot{1};
inline constexpr Format Format::code{2};
inline constexpr Format Format::instruct{3};
inline constexpr Format Format::reverse{4};

// What a format is. A new format is one file returning its FormatDef and one line in the
// table of format.cpp.
struct FormatDef {
  std::string name, description;
  // The target after "A:" (a leading space or newline included, ending in a newline).
  std::function<std::string(const Example&)> target;
  // Whether an example of this task can be rendered in it (cot needs a rationale, ...).
  std::function<bool(const Task&, const Example&)> available;
  bool instruction_line = false;  // the task's instruction opens the prompt
  bool chain = false;             // the target is a chain ending "So the answer is X."
  // A model's output in this format turned back into the task's own form before the
  // answer is extracted (reverse: the answer line's characters reversed); null = as is.
  std::function<std::string(const std::string&)> read_output;
};

Format parse_format(const std::string& name);  // Error lists the valid names
// Adds a format at run time, with the next id (a test's dummy format; the built-in ones
// are the lines of table() in format.cpp).
void register_format(FormatDef format);
const FormatDef& format_def(Format f);
const char* format_name(Format f);
std::vector<std::string> format_names();
// The formats an example of this task can be rendered in.
std::vector<std::string> formats_of(const Task& task, const Example& sample);

std::string render_prompt(const Example& e, Format f = Format::direct, const std::string& instruction = "");
std::string render_target(const Example& e, Format f);
std::string render_example(const Example& e, Format f, const std::string& instruction = "");
constexpr const char* kExampleSeparator = "\n";  // between rendered examples

// K exemplars then the query: what a k-shot prompt looks like.
std::string render_few_shot(const std::vector<Example>& exemplars, Format f, const Example& query);

// Where generation stops for a format: the end of the answer line (direct) or of the
// chain (a blank line or a new question).
std::vector<std::string> stop_sequences(Format f);
// Chains end with their answer line: generation also stops at the end of the first line
// containing this cue ("" for formats without one).
std::string answer_line_cue(Format f);
// `output` cut after the first line containing `cue` (the whole output when none does).
std::string cut_after_answer_line(const std::string& output, const std::string& cue);

}  // namespace elab
