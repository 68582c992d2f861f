#include "model/q8.h"

#include <immintrin.h>

namespace elab {

static void q8_matvec_scalar(const int8_t* q, const float* scale, const float* x, int64_t n, float* y, int64_t in,
                             int64_t out, int64_t row_begin, int64_t row_end) {
  const int64_t blocks = in / kQ8Block;
  for (int64_t o = row_begin; o < row_end; ++o) {
    const int8_t* row = q + o * in;
    for (int64_t r = 0; r < n; ++r) {
      const float* xr = x + r * in;
      float acc = 0;
      for (int64_t b = 0; b < blocks; ++b) {
        float sum = 0;
        for (int64_t i = 0; i < kQ8Block; ++i) sum += float(row[b * kQ8Block + i]) * xr[b * kQ8Block + i];
        acc += scale[o * blocks + b] * sum;
      }
      y[r * out + o] = acc;
    }
  }
}

// Per block: 2 x 16 int8 widened to float once, then for each vector multiplied by x,
// scaled and accumulated in its own 16-lane register; summed across lanes once per row.
__attribute__((target("avx512f"))) static void q8_matvec_avx512(const int8_t* q, const float* scale, const float* x,
                                                                 int64_t n, float* y, int64_t in, int64_t out,
                                                                 int64_t row_begin, int64_t row_end) {
  const int64_t blocks = in / kQ8Block;
  for (int64_t o = row_begin; o < row_end; ++o) {
    const int8_t* row = q + o * in;
    const float* s = scale + o * blocks;
    __m512 acc[kQ8MaxVectors];
    for (int64_t r = 0; r < n; ++r) acc[r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
      const int8_t* qb = row + b * kQ8Block;
      const __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qb))));
      const __m512 hi =
          _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qb + 16))));
      const __m512 sb = _mm512_set1_ps(s[b]);
      for (int64_t r = 0; r < n; ++r) {
        const float* xb = x + r * in + b * kQ8Block;
        const __m512 dot = _mm512_fmadd_ps(hi, _mm512_loadu_ps(xb + 16), _mm512_mul_ps(lo, _mm512_loadu_ps(xb)));
        acc[r] = _mm512_fmadd_ps(dot, sb, acc[r]);
      }
    }
    for (int64_t r = 0; r < n; ++r) y[r * out + o] = _mm512_reduce_add_ps(acc[r]);
  }
}

void q8_matvec(const int8_t* q, const float* scale, const float* x, int64_t n, float* y, int64_t in, int64_t out,
               int64_t row_begin, int64_t row_end) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512)
    q8_matvec_avx512(q, scale, x, n, y, in, out, row_begin, row_end);
  else
    q8_matvec_scalar(q, scale, x, n, y, in, out, row_begin, row_end);
}

}  // namespace elab
