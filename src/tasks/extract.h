#pragma once
// Answer extraction and normalisation. Extractors look for the answer after the last
// cue ("So the answer is", "The answer is", "####") and otherwise fall back to the
// kind's rule (the last number, the last choice, the last yes/no word, the first line).
// A failed extraction is "", which scores as wrong and counts in extract_fail.
#include <string>

#include "tasks/task.h"

namespace elab {

// "1,000" -> "1000", "$29.00." -> "29", "+7" -> "7", "-0" -> "0", "2.50" -> "2.5";
// "" when the text is not a number.
std::string normalize_number(const std::string& text);
std::string extract_number(const std::string& output);

std::string extract_choice(const std::string& output);    // "(B)"
std::string extract_boolean(const std::string& output);   // "yes", "false", "invalid", ...
std::string extract_text(const std::string& output);      // trimmed, spaces collapsed, no final period
std::string extract_sequence(const std::string& output);  // "3 5 8"

std::string extract_answer_of(AnswerKind kind, const std::string& output);
// The canonical form of a gold answer, comparable with what extract_answer_of returns.
std::string normalize_answer(AnswerKind kind, const std::string& gold);

}  // namespace elab
