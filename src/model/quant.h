#pragma once
// ggml's tensor types and their block layouts (ggml-common.h), dequantised to float32.
// Torch-free. A block of `block_size()` values is stored in `block_bytes()` bytes; the
// K-quants group 256 values into one super-block with sub-block scales.
#include <cstddef>
#include <cstdint>
#include <string>

namespace elab {

enum class GgmlType : uint32_t {
  f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8,
  q4_k = 12, q5_k = 13, q6_k = 14, bf16 = 30,
};

// The types this build reads; anything else is an Error naming the type's number and,
// where ggml defines it, its name.
bool ggml_type_supported(uint32_t type);
std::string ggml_type_name(uint32_t type);  // "Q4_K", or "type 17 (IQ2_XS)"
int64_t ggml_block_size(GgmlType type);     // values per block
int64_t ggml_block_bytes(GgmlType type);    // bytes per block

// Dequantises `count` values (a multiple of the block size) from `src`.
void dequantize(GgmlType type, const uint8_t* src, int64_t count, float* dst);

// Half and bfloat16 from their bits, exactly (subnormals, infinities and NaN included).
float half_to_float(uint16_t bits);
float bf16_to_float(uint16_t bits);
uint16_t float_to_half(float value);  // round to nearest even
uint16_t float_to_bf16(float value);  // round to nearest even

// Quantisers for `elab export --gguf` (llama.cpp's reference rounding).
void quantize_q8_0(const float* src, int64_t count, uint8_t* dst);

}  // namespace elab
