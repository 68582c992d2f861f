#include "backends/native.h"

#include "eval/generate.h"

namespace elab {

std::vector<Completion> NativeBackend::complete(const std::vector<std::string>& prompts, const GenerateOptions& opts) {
  return generate_greedy(ck_.model, ck_.tokenizer, prompts, opts);
}

}  // namespace elab
