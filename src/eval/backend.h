#pragma once
// What answers prompts: the native engine, an OpenAI-compatible server, recorded
// predictions. The evaluator sees only this interface. Torch-free.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "text/chat.h"

namespace elab {

struct GenerateOptions {
  int max_new_tokens = 64;
  std::vector<std::string> stop;  // generation ends at the first of these (not included)
  std::string stop_after_line_with;  // also ends at the end of the first line containing this (kept)
  int batch_size = 64;            // sequences decoded together (prompts x samples)
  int num_samples = 1;            // continuations per prompt, sharing the prompt's cache
  double temperature = 0;         // 0: greedy; > 0: sampling
  int top_k = 0;                  // 0: no top-k cut
  double top_p = 1.0;             // 1: no nucleus cut
  uint64_t seed = 0;              // sample j of prompt i draws from derive_seed(seed, i, j) alone
  std::vector<uint64_t> prompt_seeds;  // if set: prompt i's samples draw from prompt_seeds[i] instead
                                       // (a server batching requests keeps each request's seed)
  bool show_progress = true;      // a progress bar on a terminal
  bool ignore_eos = false;        // decode max_new_tokens whatever comes (benchmarks)
  // Threads that split each batch's prompts and decode their parts side by side, each
  // with single-threaded operations (libtorch's intra-op pool should then be 1 thread).
  // Outputs do not depend on it: each row's tokens depend on its own prompt and seed.
  int workers = 1;
  // Which test item each prompt asks (its position in the split's item list, and its
  // question): the replay backend finds recorded predictions by them. Empty when unknown.
  std::string task;  // the task spec the prompts come from
  std::vector<int64_t> item_index;
  std::vector<std::string> item_question;
};

struct Completion {
  std::string text;        // generated text, stop sequence excluded
  int64_t tokens = 0;      // tokens generated
  bool hit_limit = false;  // ended by max_new_tokens rather than a stop or EOS
  // The generated token ids whose bytes make up `text` (native engine only; a token cut
  // by a stop sequence is replaced by the encoding of its kept bytes).
  std::vector<int32_t> ids;
};

struct Backend {
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // for reports: a path, a URL#model, a file
  // prompts.size() * num_samples completions, prompt-major: [i * num_samples + j].
  virtual std::vector<Completion> complete(const std::vector<std::string>& prompts, const GenerateOptions& opts) = 0;
  // Teacher-forced log-probability (natural log, summed over tokens) of each
  // continuation after its prompt. Backends that cannot score return false.
  virtual bool score(const std::vector<std::string>& prompts, const std::vector<std::string>& continuations,
                     std::vector<double>& logprobs) {
    return false;
  }
  // Anything the evaluation report should say about this backend's run (skipped
  // metrics, unmatched replay lines, retries), one sentence each.
  virtual std::vector<std::string> notes() const { return {}; }
  // The model's chat template (chat:METHOD prompts), or nullopt when it has none (a base
  // model, an endpoint, recorded predictions).
  virtual std::optional<ChatTemplate> chat_template() const { return std::nullopt; }
  // How many test items of `task` this backend can answer (a replay file's lines), or 0
  // when it answers any: the default -n of a generated task's evaluation through it.
  virtual int64_t items_covered(const std::string& task) const { return 0; }
};

}  // namespace elab
