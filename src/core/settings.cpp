#include "core/settings.h"

#include "core/error.h"

#include <stdexcept>
#include <type_traits>

namespace elab {

Precision parse_precision(const std::string& text, const std::string& what) {
  if (text == "fp32") return Precision::fp32;
  if (text == "bf16") return Precision::bf16;
  fail("{} must be fp32 or bf16, got '{}'", what, text);
}

const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }

LossTokens parse_loss_tokens(const std::string& text, const std::string& what) {
  if (text == "all") return LossTokens::all;
  if (text == "answer") return LossTokens::answer;
  fail("{} must be all or answer (the targets after \"A:\"), got '{}'", what, text);
}

const char* loss_tokens_name(LossTokens l) { return l == LossTokens::answer ? "answer" : "all"; }

std::string flag_of_key(const std::string& key) {
  std::string flag = "--" + key;
  for (char& ch : flag)
    if (ch == '_') ch = '-';
  return flag;
}

// std::stoll / std::stod, and all of the text used.
template <typename T>
static T whole_text_as(const std::string& text, const std::string& what, const char* kind) {
  size_t used = 0;
  T v{};
  try {
    if constexpr (std::is_integral_v<T>)
      v = T(std::stoll(text, &used));
    else
      v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  check(used == text.size() && !text.empty(), "{} must be {}, got '{}'", what, kind, text);
  return v;
}

int64_t parse_integer_setting(const std::string& text, const std::string& what) {
  return whole_text_as<int64_t>(text, what, "an integer");
}

double parse_number_setting(const std::string& text, const std::string& what) {
  return whole_text_as<double>(text, what, "a number");
}

}  // namespace elab
