#pragma once
// A fixed set of labelled examples as a token stream, for fine-tuning: one example a row
// (the prompt as the model's tokenizer encodes a prompt, BOS included where it takes one;
// the target; then padding), with only the target's tokens in the loss, which is what the
// model must produce when evaluated on the same prompt. The tokenizer is the base's: a
// pretrained model trains on its own BPE ids, exactly the tokens evaluation feeds it.
// With shuffle, each pass over the set (an epoch) is a fresh seeded permutation; batch i
// is still a pure function of (seed, i).
// With shots K > 0 each row is a k-shot prompt (Bornschein et al. 2025): K examples of
// `shot_pool` other than the row's own, drawn once per row from the seed, rendered as a
// K-shot prompt renders them, then the row's prompt; only its target is in the loss.
#include <string>
#include <vector>

#include "tasks/format.h"
#include "text/tokenizer.h"
#include "train/data.h"

namespace elab {

class ExampleStream : public TokenStream {
 public:
  ExampleStream(const std::vector<Example>& examples, Format format, const std::string& instruction,
                const Tokenizer& tokenizer, uint64_t seed, bool shuffle, int64_t shots = 0,
                const std::vector<Example>* shot_pool = nullptr);
  void read_rows(int64_t index, int64_t batch_rows, int64_t first, int64_t count, int64_t seq_len,
                 TokenBatch& out) const override;
  std::string describe() const override;
  int64_t size() const { return int64_t(rows_.size()); }
  int64_t longest() const;  // tokens in the longest example (inputs + last target)

 private:
  struct Row {
    std::vector<int32_t> tokens;
    size_t prompt_tokens = 0;  // BOS and prompt: not counted in the loss
  };
  std::vector<Row> rows_;
  int32_t padding_id_ = 0;
  std::string description_;
  uint64_t seed_;
  bool shuffle_;
};

}  // namespace elab
