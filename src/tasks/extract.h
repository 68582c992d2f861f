#pragma once
// Answer extraction and normalisation. Extractors look for the answer after the last
// cue ("So the answer is", "The answer is", "####") and otherwise fall back to the
// kind's rule (the last number, the last choice, the last yes/no word, the first line).
// A failed extraction is "", which scores as wrong and counts in extract_fail.
//
// Two modes. `strict` is each task's own published protocol (BBH, GSM8K: the benchmark's
// rule, no fallback guess); `lenient` is the kind-based rule above, with its fallbacks,
// kept as an explicit choice and always reported under its own name.
#include <string>

#include "tasks/task.h"

namespace elab {

Extraction parse_extraction(const std::string& name);  // "strict" | "lenient" | "flexible", else an Error
const char* extraction_name(Extraction e);

// "1,000" -> "1000", "$29.00." -> "29", "+7" -> "7", "-0" -> "0", "2.50" -> "2.5";
// "" when the text is not a number.
std::string normalize_number(const std::string& text);
std::string extract_number(const std::string& output);

std::string extract_choice(const std::string& output);    // "(B)"
std::string extract_boolean(const std::string& output);   // "yes", "false", "invalid", ...
std::string extract_text(const std::string& output);      // trimmed, spaces collapsed, no final period
std::string extract_sequence(const std::string& output);  // "3 5 8"

std::string extract_answer_of(AnswerKind kind, const std::string& output);
// lm-evaluation-harness's flexible-extract: for numbers the last number anywhere in the output
// ("A: 26" -> "26", whatever cue precedes it), for options the last "(X)"; other kinds as
// extract_answer_of.
std::string extract_flexible(AnswerKind kind, const std::string& output);
// The canonical form of a gold answer, comparable with what extract_answer_of returns.
std::string normalize_answer(AnswerKind kind, const std::string& gold);

// BIG-Bench-Hard's rule (Suzgun et al. 2022 prompts end "So the answer is X."; scored as
// lm-evaluation-harness's bbh cot "get-answer" filter + exact_match): the rest of the line
// after the last "the answer is" (or "The answer is"), trimmed, one final period removed.
// Without a cue, the first line (answer-only prompting, as the harness's bbh fewshot
// "get_response" filter): never a guess from elsewhere in the text. Compared with the
// target exactly (case and brackets count).
std::string extract_bbh_strict(const std::string& output);
// GSM8K's rule (Wei et al. 2022 chains end "The answer is N."; the dataset's solutions end
// "#### N"; as lm-evaluation-harness's gsm8k "strict-match"): the number right after the
// last "the answer is" or "####" cue, commas and a final period removed; "" when the last
// cue is not followed by a number ("$18" after the cue is not a number here). Without a
// cue, the first line when it is a number as it is (answer-only prompting).
std::string extract_gsm8k_strict(const std::string& output);
// The gold side of the GSM8K rule: commas removed.
std::string gsm8k_gold(const std::string& gold);

}  // namespace elab
