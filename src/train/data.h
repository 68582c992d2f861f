#pragma once
// What the trainer reads: a stream of token batches that is a pure function of the step,
// so a resumed run reads exactly what the uninterrupted run would have. Torch-free, so
// the task module can implement it without compiling libtorch headers.
#include <cstdint>
#include <string>
#include <vector>

namespace elab {

struct TokenBatch {
  int64_t rows = 0, seq_len = 0;
  std::vector<int32_t> tokens;     // rows * (seq_len + 1): inputs are [0, T), targets [1, T]
  std::vector<uint8_t> loss_mask;  // rows * seq_len: 1 where the target at t counts
};

struct TokenStream {
  virtual ~TokenStream() = default;
  // Rows [first, first + count) of batch number `index`, a batch of `batch_rows` rows of
  // seq_len + 1 tokens. Each row depends only on (index, row), so a data-parallel rank
  // reads its own rows and the ranks together read exactly the one-process batch.
  virtual void read_rows(int64_t index, int64_t batch_rows, int64_t first, int64_t count, int64_t seq_len,
                         TokenBatch& out) const = 0;
  // Batch number `index`, all of it.
  void batch(int64_t index, int64_t rows, int64_t seq_len, TokenBatch& out) const {
    read_rows(index, rows, 0, rows, seq_len, out);
  }
  // Everything that determines the stream, for meta.json's data hash.
  virtual std::string describe() const = 0;
};

}  // namespace elab
