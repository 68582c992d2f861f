#include "model/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace elab {

namespace {

struct TypeInfo {
  uint32_t id;
  const char* name;
  int64_t block_size, block_bytes;  // 0: a type ggml defines that this build does not read
};

// ggml's type table (ggml.h `enum ggml_type`), with the layouts of the ones read here.
constexpr TypeInfo kTypes[] = {
    {0, "F32", 1, 4},       {1, "F16", 1, 2},        {2, "Q4_0", 32, 18},    {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},    {7, "Q5_1", 32, 24},     {8, "Q8_0", 32, 34},    {9, "Q8_1", 0, 0},
    {10, "Q2_K", 0, 0},     {11, "Q3_K", 0, 0},      {12, "Q4_K", 256, 144}, {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210}, {15, "Q8_K", 0, 0},      {16, "IQ2_XXS", 0, 0},  {17, "IQ2_XS", 0, 0},
    {18, "IQ3_XXS", 0, 0},  {19, "IQ1_S", 0, 0},     {20, "IQ4_NL", 0, 0},   {21, "IQ3_S", 0, 0},
    {22, "IQ2_S", 0, 0},    {23, "IQ4_XS", 0, 0},    {24, "I8", 0, 0},       {25, "I16", 0, 0},
    {26, "I32", 0, 0},      {27, "I64", 0, 0},       {28, "F64", 0, 0},      {29, "IQ1_M", 0, 0},
    {30, "BF16", 1, 2},     {34, "TQ1_0", 0, 0},     {35, "TQ2_0", 0, 0},    {39, "MXFP4", 0, 0},
};

const TypeInfo* info(uint32_t id) {
  for (const auto& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}

const TypeInfo& supported(GgmlType type) {
  const TypeInfo* t = info(uint32_t(type));
  check(t && t->block_size > 0, "tensor type {} is not supported", ggml_type_name(uint32_t(type)));
  return *t;
}

uint16_t u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
float f16(const uint8_t* p) { return half_to_float(u16(p)); }

// 32 values from 16 bytes of nibbles: low nibbles first, then high (ggml's order).
void q4_block(const uint8_t* qs, float d, float offset, float m, float* y) {
  for (int j = 0; j < 16; ++j) {
    y[j] = d * (float(qs[j] & 0x0F) + offset) + m;
    y[j + 16] = d * (float(qs[j] >> 4) + offset) + m;
  }
}

// 32 values from nibbles plus a fifth bit each, packed into one 32-bit word.
void q5_block(const uint8_t* qh_bytes, const uint8_t* qs, float d, float offset, float m, float* y) {
  const uint32_t qh = u32(qh_bytes);
  for (int j = 0; j < 16; ++j) {
    const uint8_t h0 = uint8_t(((qh >> j) << 4) & 0x10), h1 = uint8_t((qh >> (j + 12)) & 0x10);
    y[j] = d * (float((qs[j] & 0x0F) | h0) + offset) + m;
    y[j + 16] = d * (float((qs[j] >> 4) | h1) + offset) + m;
  }
}

// The 6-bit scale and minimum of sub-block j (0..7) of a Q4_K / Q5_K super-block.
void scale_min_k4(int j, const uint8_t* q, uint8_t& scale, uint8_t& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = uint8_t((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4));
    min = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void dequantize_q4_k(const uint8_t* b, float* y) {  // d, dmin, scales[12], qs[128]
  const float d = f16(b), dmin = f16(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
    uint8_t sc, m;
    scale_min_k4(is, scales, sc, m);
    const float d1 = d * sc, m1 = dmin * m;
    scale_min_k4(is + 1, scales, sc, m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * float(q[l] & 0x0F) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * float(q[l] >> 4) - m2;
  }
}

void dequantize_q5_k(const uint8_t* b, float* y) {  // d, dmin, scales[12], qh[32], qs[128]
  const float d = f16(b), dmin = f16(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, ql += 32, u1 = uint8_t(u1 << 2), u2 = uint8_t(u2 << 2)) {
    uint8_t sc, m;
    scale_min_k4(is, scales, sc, m);
    const float d1 = d * sc, m1 = dmin * m;
    scale_min_k4(is + 1, scales, sc, m);
    const float d2 = d * sc, m2 = dmin * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * float((ql[l] & 0x0F) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * float((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
  }
}

void dequantize_q6_k(const uint8_t* b, float* y) {  // ql[128], qh[64], scales[16] (int8), d
  const float d = f16(b + 208);
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = int((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = int((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * float(sc[is]) * float(q1);
      y[l + 32] = d * float(sc[is + 2]) * float(q2);
      y[l + 64] = d * float(sc[is + 4]) * float(q3);
      y[l + 96] = d * float(sc[is + 6]) * float(q4);
    }
  }
}

}  // namespace

bool ggml_type_supported(uint32_t type) {
  const TypeInfo* t = info(type);
  return t && t->block_size > 0;
}

std::string ggml_type_name(uint32_t type) {
  const TypeInfo* t = info(type);
  if (!t) return fmt::format("type {} (not a ggml type)", type);
  if (t->block_size == 0) return fmt::format("type {} ({})", type, t->name);
  return t->name;
}

int64_t ggml_block_size(GgmlType type) { return supported(type).block_size; }
int64_t ggml_block_bytes(GgmlType type) { return supported(type).block_bytes; }

void dequantize(GgmlType type, const uint8_t* src, int64_t count, float* dst) {
  const TypeInfo& t = supported(type);
  check(count % t.block_size == 0, "{} values are not a whole number of {} blocks of {}", count, t.name, t.block_size);
  const int64_t blocks = count / t.block_size;
  for (int64_t i = 0; i < blocks; ++i) {
    const uint8_t* b = src + i * t.block_bytes;
    float* y = dst + i * t.block_size;
    switch (type) {
      case GgmlType::f32: std::memcpy(y, b, 4); break;
      case GgmlType::f16: *y = f16(b); break;
      case GgmlType::bf16: *y = bf16_to_float(u16(b)); break;
      case GgmlType::q8_0: {
        const float d = f16(b);
        for (int j = 0; j < 32; ++j) y[j] = d * float(int8_t(b[2 + j]));
        break;
      }
      case GgmlType::q4_0: q4_block(b + 2, f16(b), -8.0f, 0.0f, y); break;
      case GgmlType::q4_1: q4_block(b + 4, f16(b), 0.0f, f16(b + 2), y); break;
      case GgmlType::q5_0: q5_block(b + 2, b + 6, f16(b), -16.0f, 0.0f, y); break;
      case GgmlType::q5_1: q5_block(b + 4, b + 8, f16(b), 0.0f, f16(b + 2), y); break;
      case GgmlType::q4_k: dequantize_q4_k(b, y); break;
      case GgmlType::q5_k: dequantize_q5_k(b, y); break;
      case GgmlType::q6_k: dequantize_q6_k(b, y); break;
    }
  }
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);  // infinity or NaN
  } else if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: value = mantissa * 2^-24, exact in float
      float v = std::ldexp(float(mantissa), -24);
      std::memcpy(&bits, &v, 4);
      bits |= sign;
    }
  } else {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

float bf16_to_float(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

uint16_t float_to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((bits >> 16) | 0x40);  // NaN stays NaN
  bits += 0x7FFF + ((bits >> 16) & 1);
  return uint16_t(bits >> 16);
}

uint16_t float_to_half(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000);
  const uint32_t abs = bits & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return uint16_t(sign | 0x7E00);  // NaN
  if (abs >= 0x477FF000u) return uint16_t(sign | 0x7C00);  // rounds to infinity (>= 65520)
  if (abs < 0x38800000u) {                                 // below the smallest normal half: subnormal
    const float magnitude = std::fabs(value);
    return uint16_t(sign | uint16_t(std::nearbyint(magnitude * 16777216.0f)));  // units of 2^-24, ties to even
  }
  uint32_t rounded = abs + 0xFFF + ((abs >> 13) & 1);  // round to nearest even at bit 13
  return uint16_t(sign | uint16_t((rounded - 0x38000000u) >> 13));
}

void quantize_q8_0(const float* src, int64_t count, uint8_t* dst) {
  check(count % 32 == 0, "{} values are not a whole number of Q8_0 blocks of 32", count);
  for (int64_t i = 0; i < count / 32; ++i) {
    const float* x = src + i * 32;
    uint8_t* b = dst + i * 34;
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t dh = float_to_half(d);
    b[0] = uint8_t(dh & 0xFF);
    b[1] = uint8_t(dh >> 8);
    for (int j = 0; j < 32; ++j) b[2 + j] = uint8_t(int8_t(std::lround(x[j] * id)));
  }
}

}  // namespace elab
