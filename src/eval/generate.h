#pragma once
// The generation engine of the native backend: many prompts decoded at once, left-padded
// into one batch, with the KV cache; N samples of a prompt share its prefilled cache.
// Results do not depend on how prompts are grouped into batches: greedy choices use the
// logits alone, and each sample draws from its own seeded stream.
#include <string>
#include <vector>

#include "eval/backend.h"
#include "model/transformer.h"
#include "text/tokenizer.h"

namespace elab {

// Prompts are encoded as the tokenizer's encode_prompt (BOS + bytes for models trained here). A prompt that cannot fit the context with
// max_new_tokens is an Error naming the limit; nothing is truncated silently.
//
// Prompts that share 256 tokens or more (few-shot exemplars) have them encoded once for
// the call. A caller that generates again and again for prompts with the same exemplars
// (the server, one call per batch of requests) passes `kept`: a later call whose every
// prompt starts with the kept tokens reuses their keys and values, and a call that
// encodes a new shared prefix keeps it there. Outputs are the same either way.
struct SharedPrefix {
  std::vector<int32_t> tokens;  // empty: nothing shared
  KVCache cache;                // one row of tokens.size() positions
  int64_t length() const { return int64_t(tokens.size()); }
};
std::vector<Completion> generate(Transformer& model, const Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                 const GenerateOptions& opts, SharedPrefix* kept = nullptr);

// The one teacher-forced scorer (the evaluator's gold log-probabilities and the server's
// logprobs/echo both use it): for each row of token ids, log p(ids[t] | ids[< t]) for
// t >= 1, and with top > 0 the `top` most likely tokens at each of those positions. Rows
// are scored in left-padded batches of `batch_size`, `workers` threads side by side.
// With `first` (one per row), only the tokens from first[i] on are scored (entries before
// are NaN), and the leading tokens every row shares before them are encoded once.
struct TokenScores {
  std::vector<double> logprob;                               // entry t-1: token t given tokens < t
  std::vector<std::vector<std::pair<int32_t, double>>> top;  // the best alternatives there
};
std::vector<TokenScores> score_tokens(Transformer& model, const std::vector<std::vector<int32_t>>& rows, int top,
                                      int batch_size, int workers = 1, int32_t pad_id = ByteTokenizer::kPad,
                                      const std::vector<size_t>& first = {});

// Sum of log p(continuation | prompt) over the continuation's tokens.
// `workers` threads score parts of each batch side by side (see GenerateOptions::workers).
std::vector<double> score_continuations(Transformer& model, const Tokenizer& tokenizer,
                                        const std::vector<std::string>& prompts,
                                        const std::vector<std::string>& continuations, int batch_size,
                                        int workers = 1);

// One token from a row of logits: argmax when temperature is 0, else a draw from the
// softmax at `temperature` after top-k and top-p cuts. The tokenizer's never_generated
// ids (PAD, BOS and SEP of the byte tokenizer) are never chosen.
int32_t choose_token(const float* logits, int64_t vocab, const GenerateOptions& opts, class Rng& rng,
                     const Tokenizer& tokenizer = Tokenizer());

}  // namespace elab
