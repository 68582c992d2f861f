#pragma once
// Settings that change the numbers, as enums parsed and validated in one place: every
// command line flag, study key and JSON record goes through these.
#include <cstdint>
#include <string>

namespace elab {

// The matrix products of training: float32, or bfloat16 under autocast.
enum class Precision { fp32, bf16 };
// "fp32" / "bf16"; anything else is an Error naming `what` (a flag, a study key).
Precision parse_precision(const std::string& text, const std::string& what = "--precision");
const char* precision_name(Precision p);

// The tokens a pre-training loss counts: all of them, or only the answers after "A:".
enum class LossTokens { all, answer };
LossTokens parse_loss_tokens(const std::string& text, const std::string& what = "--loss");
const char* loss_tokens_name(LossTokens l);

// The command-line flag of a study-file key: "lora_dropout" -> "--lora-dropout".
std::string flag_of_key(const std::string& key);

// The whole of `text` as an integer, or as a number; anything else (empty, "3x", "fast")
// is an Error "WHAT must be an integer, got '...'" naming `what` (a flag, a study key).
int64_t parse_integer_setting(const std::string& text, const std::string& what);
double parse_number_setting(const std::string& text, const std::string& what);

}  // namespace elab
