#pragma once
// Answer extraction and normalisation shared by the tasks.
#include <string>

namespace elab {

// "1,000" -> "1000", "$29.00." -> "29", "+7" -> "7", "-0" -> "0", "2.50" -> "2.5";
// "" when the text is not a number.
std::string normalize_number(const std::string& text);

// The number a model's output answers with: the one after "So the answer is",
// "The answer is" or "####" when present (the last such phrase), else the last number
// in the text. "" when there is none.
std::string extract_number(const std::string& output);

}  // namespace elab
