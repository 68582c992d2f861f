#pragma once
// How an example becomes text. Every format shares one layout, so that a prompt, a
// training document and a fine-tuning example look alike:
//
//   Q: <question>
//   A: <target>                 direct: the answer; cot: rationale lines, then
//                               "So the answer is <answer>."
//   (blank line between examples)
#include <string>
#include <vector>

#include "tasks/task.h"

namespace elab {

enum class Format { direct, cot };
Format parse_format(const std::string& name);  // Error lists the valid names
const char* format_name(Format f);
std::vector<std::string> format_names();

std::string render_prompt(const Example& e);            // "Q: ...\nA:"
std::string render_target(const Example& e, Format f);  // " 46\n" or " <steps>\nSo the answer is 46.\n"
std::string render_example(const Example& e, Format f);  // prompt + target
constexpr const char* kExampleSeparator = "\n";          // between rendered examples

// K exemplars then the query: what a k-shot prompt looks like.
std::string render_few_shot(const std::vector<Example>& exemplars, Format f, const Example& query);

// Where generation stops for a format: the end of the answer line (direct) or of the
// chain (a blank line or a new question).
std::vector<std::string> stop_sequences(Format f);

}  // namespace elab
