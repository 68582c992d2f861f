#include "backends/native.h"

#include <fmt/format.h>

#include "eval/generate.h"

namespace elab {

// Positions past the trained sequence length were never seen in training (RoPE gives
// them angles the model never learned): say so once rather than report quiet garbage.
static void warn_beyond_trained_length(const Checkpoint& ck, const std::vector<std::string>& prompts,
                                       const std::vector<Completion>& out, int samples) {
  if (!ck.meta.is_object()) return;
  int64_t trained = ck.meta.value("/train_config/seq_len"_json_pointer, int64_t(0));
  if (trained <= 0) return;
  int64_t reach = 0, beyond = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t end = int64_t(prompts[i / size_t(samples)].size()) + 1 + out[i].tokens;  // BOS + prompt + output
    reach = std::max(reach, end);
    beyond += end > trained;
  }
  if (beyond > 0)
    fmt::print(stderr,
               "warning: {} of {} generations ran past position {} (up to {}), the sequence length {} was trained "
               "on; outputs past it are unreliable (use fewer exemplars, or train with a longer --seq-len)\n",
               beyond, out.size(), trained, reach, ck.dir.string());
}

std::vector<Completion> NativeBackend::complete(const std::vector<std::string>& prompts, const GenerateOptions& opts) {
  GenerateOptions with_workers = opts;
  with_workers.workers = workers;
  auto out = generate(ck_.model, ck_.tokenizer, prompts, with_workers);
  if (!warned_) warn_beyond_trained_length(ck_, prompts, out, opts.num_samples);
  warned_ = true;
  return out;
}

bool NativeBackend::score(const std::vector<std::string>& prompts, const std::vector<std::string>& continuations,
                          std::vector<double>& logprobs) {
  logprobs = score_continuations(ck_.model, ck_.tokenizer, prompts, continuations, score_batch, workers);
  return true;
}

std::optional<ChatTemplate> NativeBackend::chat_template() const {
  const Bpe* bpe = ck_.tokenizer.bpe();
  return bpe ? recognise_chat_template(bpe->spec().chat_template, ck_.dir.string()) : std::nullopt;
}

}  // namespace elab
