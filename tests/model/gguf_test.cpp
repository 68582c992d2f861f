// GGUF reading and ggml dequantisation, against llama.cpp's own Python package (gguf-py):
// the same blocks dequantised by both must give the same floats, type by type.
#include "model/gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/fs.h"
#include "python_oracle.h"
#include "test_util.h"

namespace elab {
namespace {

using testing::error_of;

const GgufFile& fixture() {
  static testing::TempDir dir;
  static GgufFile file = [] {
    testing::run_python("quant_fixture.py", (dir / "quant.gguf").string() + " 7");
    return GgufFile::open((dir / "quant.gguf").string());
  }();
  return file;
}

TEST(Gguf, DequantisationMatchesGgufPyForEveryType) {
  const auto& f = fixture();
  for (const char* type : {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"}) {
    SCOPED_TRACE(type);
    const auto* t = f.find(type);
    const auto* ref = f.find(std::string(type) + ".ref");
    ASSERT_NE(t, nullptr);
    ASSERT_NE(ref, nullptr);
    EXPECT_EQ(t->dims, ref->dims);
    EXPECT_EQ(ggml_type_name(uint32_t(t->type)), type);
    auto got = f.dequantized(*t), want = f.dequantized(*ref);
    ASSERT_EQ(got.size(), want.size());
    int64_t mismatches = 0;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const double err = std::fabs(double(got[i]) - double(want[i]));
      worst = std::max(worst, err);
      mismatches += err > 1e-6 * std::max(1.0, std::fabs(double(want[i])));
    }
    EXPECT_EQ(mismatches, 0) << "largest difference " << worst;
  }
}

TEST(Gguf, Q8_0QuantiserMatchesLlamaCppReference) {
  const auto& f = fixture();
  auto source = f.dequantized(*f.find("Q8_0.source"));
  const auto* ref = f.find("Q8_0.from_f32");
  std::string mine(ref->bytes(), '\0');
  quantize_q8_0(source.data(), int64_t(source.size()), reinterpret_cast<uint8_t*>(mine.data()));
  EXPECT_EQ(mine, std::string(f.raw(*ref)));
}

TEST(Gguf, HalfConversionRoundTripsEveryBitPattern) {
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const float v = half_to_float(uint16_t(bits));
    if (std::isnan(v)) continue;
    ASSERT_EQ(float_to_half(v), bits) << bits;
    ASSERT_EQ(float_to_bf16(bf16_to_float(uint16_t(bits))), bits) << bits;
  }
  EXPECT_EQ(float_to_half(1e6f), 0x7C00);     // overflow to infinity
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), 0x3C00);  // a tie rounds to even
}

TEST(Gguf, MetadataKeepsItsTypes) {
  const auto& f = fixture();
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.string_or("general.architecture", ""), "elab-test");
  EXPECT_EQ(f.string_or("test.string", ""), "héllo");
  EXPECT_EQ(f.strings("test.strings"), (std::vector<std::string>{"a", "", "ü"}));
  EXPECT_EQ(f.integer("test.u64"), int64_t(1) << 40);
  EXPECT_EQ(f.integer("test.i8"), -5);
  EXPECT_EQ(f.number_or("test.f64", 0), 0.125);
  EXPECT_TRUE(f.boolean_or("test.bool", false));
  EXPECT_NE(error_of([&] { f.integer("test.string"); }).find("'test.string' should be an integer"), std::string::npos);
  EXPECT_NE(error_of([&] { f.at("no.such.key"); }).find("metadata key 'no.such.key' is missing"), std::string::npos);
}

TEST(Gguf, WriterOutputReadsBack) {
  std::vector<float> values(64);
  for (size_t i = 0; i < values.size(); ++i) values[i] = float(i) * 0.5f - 3;
  GgufTensorOut t{"w", {32, 2}, GgmlType::f32, std::string(reinterpret_cast<const char*>(values.data()), 256)};
  std::string q8(2 * 34, '\0');
  quantize_q8_0(values.data(), 64, reinterpret_cast<uint8_t*>(q8.data()));
  GgufTensorOut tq{"w.q8", {64}, GgmlType::q8_0, q8};
  auto bytes = encode_gguf({{"general.architecture", gguf_string("x")}, {"n", gguf_u32(7)}}, {t, tq}, 64);
  auto f = GgufFile::parse(bytes, "mem");
  EXPECT_EQ(f.integer("n"), 7);
  EXPECT_EQ(f.integer("general.alignment"), 64);
  EXPECT_EQ(f.dequantized(*f.find("w")), values);
  auto back = f.dequantized(*f.find("w.q8"));
  // half a quantisation step of the largest block (amax 28.5 over 127 steps), plus the fp16 rounding of the scale times 127
  for (size_t i = 0; i < values.size(); ++i) EXPECT_NEAR(back[i], values[i], 0.5 * 28.5 / 127 + 0.005);
}

// Every damaged copy of a valid file is an Error that names the problem and its offset.
TEST(Gguf, DamagedFilesAreErrorsNamingTheOffset) {
  std::vector<float> values(32, 1.0f);
  GgufTensorOut t{"w", {32}, GgmlType::f32, std::string(reinterpret_cast<const char*>(values.data()), 128)};
  const std::string good = encode_gguf({{"k", gguf_strings({"a", "b"})}}, {t});
  ASSERT_NO_THROW(GgufFile::parse(good, "good"));
  // Every truncation is refused (the tensor data runs past the end), never a crash.
  for (size_t n = 0; n < good.size(); ++n) {
    std::string msg = error_of([&] { GgufFile::parse(good.substr(0, n), "cut"); });
    ASSERT_FALSE(msg.empty()) << "truncated to " << n << " bytes was accepted";
    ASSERT_EQ(msg.rfind("cut: ", 0), 0u) << msg;
  }
  auto with = [&](size_t at, const std::string& patch) {
    std::string b = good;
    b.replace(at, patch.size(), patch);
    return error_of([&] { GgufFile::parse(b, "f"); });
  };
  auto u64 = [](uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); };
  auto u32 = [](uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  EXPECT_NE(with(0, "GGUX").find("not a GGUF file"), std::string::npos);
  EXPECT_NE(with(4, u32(1)).find("GGUF version 1 is not supported"), std::string::npos);
  EXPECT_NE(with(8, u64(uint64_t(1) << 60)).find("tensor count"), std::string::npos);
  EXPECT_NE(with(16, u64(uint64_t(1) << 60)).find("metadata count"), std::string::npos);
  // key "k" (8 + 1 bytes) then its type, then the array's item type and length
  EXPECT_NE(with(24 + 9, u32(99)).find("unknown value type 99"), std::string::npos);
  EXPECT_NE(with(24 + 9 + 8, u64(uint64_t(1) << 50)).find("array of 1125899906842624 items cannot fit"), std::string::npos);
  const size_t tensor = good.find("w", 24 + 9 + 16 + 18) ;  // the tensor name after the metadata
  ASSERT_NE(tensor, std::string::npos);
  EXPECT_NE(with(tensor + 1, u32(9)).find("9 dimensions"), std::string::npos);
  EXPECT_NE(with(tensor + 1 + 4 + 8, u32(17)).find("type 17 (IQ2_XS) is not supported"), std::string::npos);
  EXPECT_NE(with(tensor + 1 + 4 + 8 + 4, u64(64)).find("runs past the end of the file"), std::string::npos);
  EXPECT_NE(with(tensor + 1 + 4 + 8 + 4, u64(3)).find("not a multiple of the alignment"), std::string::npos);
  EXPECT_NE(with(tensor + 1 + 4, u64(0)).find("dimension 0 of size 0 is out of range"), std::string::npos);
  EXPECT_NE(error_of([] { GgufFile::open("/nonexistent.gguf"); }).find("/nonexistent.gguf: cannot open"), std::string::npos);
}

TEST(Gguf, SmolLM2FileReadsAndItsTensorsMatchGgufPy) {
  auto f = GgufFile::open(testing::smollm2_gguf());
  EXPECT_EQ(f.string_or("general.architecture", ""), "llama");
  EXPECT_EQ(f.tensors().size(), 272u);
  EXPECT_EQ(f.integer("llama.block_count"), 30);
  EXPECT_EQ(f.strings("tokenizer.ggml.tokens").size(), 49152u);
  // gguf-py's dequantisation of the first values of one tensor of each type in the file
  auto out = testing::run_python("gguf_slices.py", testing::smollm2_gguf() +
                                 " token_embd.weight blk.0.attn_q.weight blk.0.attn_norm.weight");
  std::istringstream lines(out);
  std::string name;
  size_t n;
  int checked = 0;
  while (lines >> name >> n) {
    SCOPED_TRACE(name);
    const auto* t = f.find(name);
    ASSERT_NE(t, nullptr);
    auto values = f.dequantized(*t);
    for (size_t i = 0; i < n; ++i) {
      double want;
      lines >> want;
      ASSERT_NEAR(values[i], want, 1e-6 * std::max(1.0, std::fabs(want))) << i;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

}  // namespace
}  // namespace elab
