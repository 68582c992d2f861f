#include "tasks/example_stream.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/hash.h"
#include "core/rng.h"

namespace elab {

ExampleStream::ExampleStream(const std::vector<Example>& examples, Format format, const std::string& instruction,
                             const Tokenizer& tok, uint64_t seed, bool shuffle, int64_t shots,
                             const std::vector<Example>* shot_pool)
    : padding_id_(tok.padding_id()), seed_(seed), shuffle_(shuffle) {
  check(!examples.empty(), "no examples to fine-tune on");
  check(shots >= 0, "a k-shot fine-tuning row needs K >= 0 examples, got {}", shots);
  if (!shot_pool) shot_pool = &examples;
  Hasher h;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& e = examples[i];
    std::string prompt = render_prompt(e, format, instruction);
    if (shots > 0) {  // K others of the pool, then the example: the prompt icl:K writes
      std::vector<Example> others;
      for (const auto& x : *shot_pool)
        if (x.key != e.key) others.push_back(x);
      check(int64_t(others.size()) >= shots, "a {}-shot fine-tuning row needs {} other training examples, and there are {}",
            shots, shots, others.size());
      Rng rng(derive_seed(seed, "train-shots", {uint64_t(i)}));
      rng.shuffle(others);
      others.resize(size_t(shots));
      prompt = render_few_shot(others, format, e);
    }
    Row row;
    // The prompt and the target are encoded apart, as evaluation feeds the prompt and the
    // model writes the target after it (one BPE merge across "A:" and " yes" would train
    // tokens the model never sees when it answers).
    row.tokens = tok.encode_prompt(prompt);
    row.prompt_tokens = row.tokens.size();
    const std::string target = render_target(e, format);
    auto target_ids = tok.encode(target);
    row.tokens.insert(row.tokens.end(), target_ids.begin(), target_ids.end());
    h.add(prompt + target).add("\x1f");
    rows_.push_back(std::move(row));
  }
  // The byte tokenizer keeps the description it always had (job keys and data hashes of
  // runs on the lab's own models stay as they were).
  description_ = fmt::format("examples n={} format={} hash={} seed={} shuffle={}{}{}", examples.size(),
                             format_name(format), h.hex(), seed, shuffle,
                             tok.is_bytes() ? "" : fmt::format(" vocab={}", tok.vocab_size()),
                             shots > 0 ? fmt::format(" shots={}", shots) : "");
}

int64_t ExampleStream::longest() const {
  size_t n = 0;
  for (const auto& r : rows_) n = std::max(n, r.tokens.size());
  return int64_t(n);
}

void ExampleStream::read_rows(int64_t index, int64_t batch_rows, int64_t first, int64_t count, int64_t seq_len,
                              TokenBatch& out) const {
  out.rows = count;
  out.seq_len = seq_len;
  out.tokens.assign(size_t(count * (seq_len + 1)), padding_id_);
  out.loss_mask.assign(size_t(count * seq_len), 0);
  const int64_t n = size();
  int64_t cached_epoch = -1;
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t r = 0; r < count; ++r) {
    const int64_t global = index * batch_rows + first + r, epoch = global / n;
    if (epoch != cached_epoch) {
      std::iota(order.begin(), order.end(), 0);
      if (shuffle_) {
        Rng rng(derive_seed(seed_, "epoch", {uint64_t(epoch)}));
        rng.shuffle(order);
      }
      cached_epoch = epoch;
    }
    const Row& row = rows_[size_t(order[size_t(global % n)])];
    check(int64_t(row.tokens.size()) <= seq_len + 1, "a fine-tuning example has {} tokens, more than the {} of a row",
          row.tokens.size(), seq_len + 1);
    int32_t* tokens = out.tokens.data() + r * (seq_len + 1);
    uint8_t* mask = out.loss_mask.data() + r * seq_len;
    std::copy(row.tokens.begin(), row.tokens.end(), tokens);
    // Target t predicts token t + 1: the targets are the tokens after the prompt.
    for (size_t t = row.prompt_tokens; t < row.tokens.size(); ++t) mask[t - 1] = 1;
  }
}

std::string ExampleStream::describe() const { return description_; }

}  // namespace elab
