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
  // Batch number `index` of this stream: rows x (seq_len + 1) tokens.
  virtual void batch(int64_t index, int64_t rows, int64_t seq_len, TokenBatch& out) const = 0;
  // Everything that determines the stream, for meta.json's data hash.
  virtual std::string describe() const = 0;
};

}  // namespace elab
