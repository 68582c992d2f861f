#include "tasks/example_stream.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/hash.h"
#include "core/rng.h"

namespace elab {

ExampleStream::ExampleStream(const std::vector<Example>& examples, Format format, const std::string& instruction,
                             const Tokenizer& tok, uint64_t seed, bool shuffle)
    : padding_id_(tok.padding_id()), seed_(seed), shuffle_(shuffle) {
  check(!examples.empty(), "no examples to fine-tune on");
  Hasher h;
  for (const auto& e : examples) {
    Row row;
    // The prompt and the target are encoded apart, as evaluation feeds the prompt and the
    // model writes the target after it (one BPE merge across "A:" and " yes" would train
    // tokens the model never sees when it answers).
    row.tokens = tok.encode_prompt(render_prompt(e, format, instruction));
    row.prompt_tokens = row.tokens.size();
    auto target = tok.encode(render_target(e, format));
    row.tokens.insert(row.tokens.end(), target.begin(), target.end());
    h.add(render_example(e, format, instruction)).add("\x1f");
    rows_.push_back(std::move(row));
  }
  // The byte tokenizer keeps the description it always had (job keys and data hashes of
  // runs on the lab's own models stay as they were).
  description_ = fmt::format("examples n={} format={} hash={} seed={} shuffle={}{}", examples.size(), format_name(format),
                             h.hex(), seed, shuffle, tok.is_bytes() ? "" : fmt::format(" vocab={}", tok.vocab_size()));
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
