#pragma once
// The generation engine of the native backend: greedy decoding of many prompts at once,
// left-padded into one batch, with the KV cache.
#include <string>
#include <vector>

#include "eval/backend.h"
#include "model/transformer.h"
#include "text/tokenizer.h"

namespace elab {

// Prompts are encoded as BOS + bytes. Prompts longer than the context (with room for
// max_new_tokens) are an Error naming the limit; nothing is truncated silently.
std::vector<Completion> generate_greedy(Transformer& model, const ByteTokenizer& tokenizer,
                                        const std::vector<std::string>& prompts, const GenerateOptions& opts);

}  // namespace elab
