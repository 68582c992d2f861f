#include "core/settings.h"

#include "core/error.h"

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

}  // namespace elab
