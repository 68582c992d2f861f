#include "backends/native.h"

#include "eval/generate.h"

namespace elab {

std::vector<Completion> NativeBackend::complete(const std::vector<std::string>& prompts, const GenerateOptions& opts) {
  return generate(ck_.model, ck_.tokenizer, prompts, opts);
}

bool NativeBackend::score(const std::vector<std::string>& prompts, const std::vector<std::string>& continuations,
                          std::vector<double>& logprobs) {
  logprobs = score_continuations(ck_.model, ck_.tokenizer, prompts, continuations, score_batch);
  return true;
}

}  // namespace elab
