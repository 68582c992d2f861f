#pragma once
// 8-bit weight matrices for decoding: each row in blocks of 32 int8 values with one
// float32 scale per block (ggml's Q8_0 layout with a float scale), multiplied by a
// float32 vector without dequantising the matrix first. A decoding step reads every
// weight once, so a quarter of float32's bytes is what makes batch-1 decoding fast on
// a CPU (docs/PRETRAINED.md, "Speed"). Torch-free.
#include <cstdint>

namespace elab {

constexpr int64_t kQ8Block = 32;

// For each of `n` input vectors x_r (rows of x, `in` floats each):
//   y[r, o] = sum_b scale[o, b] * sum_i q[o, 32 b + i] * x_r[32 b + i]
// for the output rows o in [row_begin, row_end) of an (out x in) matrix (y is n x out);
// in is a multiple of 32. Each weight block is read once for all n vectors (decoding a
// batch), n <= kQ8MaxVectors. AVX-512 where the CPU has it.
constexpr int64_t kQ8MaxVectors = 8;
void q8_matvec(const int8_t* q, const float* scale, const float* x, int64_t n, float* y, int64_t in, int64_t out,
               int64_t row_begin, int64_t row_end);

}  // namespace elab
