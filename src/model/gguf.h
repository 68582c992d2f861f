#pragma once
// GGUF, llama.cpp's model file (versions 2 and 3): a header, typed metadata (the
// architecture, its hyper-parameters, the tokenizer), tensor descriptions, then aligned
// tensor data, often block-quantised. Torch-free: the reader maps the file and checks
// every count, length and offset against its size before using it, so a truncated or
// hostile file is an Error naming the file and the byte offset, never a crash or an
// allocation the file's own size does not justify.
//
// Dimension order is GGUF's: dims[0] is the contiguous one, so a (rows, cols) matrix of
// the engine has dims {cols, rows}.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/quant.h"

namespace elab {

enum class GgufValueType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8, array = 9,
  u64 = 10, i64 = 11, f64 = 12,
};

// One metadata value. Numbers keep both readings (an integer key read as a float and the
// reverse both work); arrays hold their items.
struct GgufValue {
  GgufValueType type = GgufValueType::u32;
  GgufValueType item_type = GgufValueType::u32;  // arrays only
  int64_t integer = 0;                           // integers and booleans (u64 above 2^63 is refused)
  double number = 0;                             // every numeric type
  std::string text;                              // strings
  std::vector<GgufValue> items;                  // arrays
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // GGUF order: dims[0] contiguous
  GgmlType type = GgmlType::f32;
  uint64_t offset = 0;        // from the start of the data section
  int64_t elements() const;
  uint64_t bytes() const;     // of its stored (possibly quantised) data
};

class GgufFile {
 public:
  // Maps and parses `path`; a problem is an Error "PATH: ... at byte N".
  static GgufFile open(const std::string& path);
  // Parses bytes already in memory (tests, fuzzing); `where` names them in errors.
  static GgufFile parse(std::string bytes, const std::string& where);

  uint32_t version() const { return version_; }
  const std::string& where() const { return where_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  bool has(const std::string& key) const { return metadata_.count(key) > 0; }
  const GgufValue& at(const std::string& key) const;  // Error naming the key when absent
  int64_t integer(const std::string& key) const;      // Error when absent or not an integer
  int64_t integer_or(const std::string& key, int64_t fallback) const;
  double number_or(const std::string& key, double fallback) const;
  std::string string_or(const std::string& key, const std::string& fallback) const;
  bool boolean_or(const std::string& key, bool fallback) const;
  std::vector<std::string> strings(const std::string& key) const;  // an array of strings
  std::vector<double> numbers(const std::string& key) const;       // an array of numbers

  const GgufTensorInfo* find(const std::string& name) const;
  // The tensor's stored bytes (inside the mapped file) and its values as float32.
  std::string_view raw(const GgufTensorInfo& t) const;
  std::vector<float> dequantized(const GgufTensorInfo& t) const;

 private:
  std::string where_;
  uint32_t version_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::shared_ptr<const void> storage_;  // the mapping or the owned bytes
  const uint8_t* data_ = nullptr;        // the data section
  uint64_t data_size_ = 0;
  static GgufFile from_mapping(const uint8_t* bytes, uint64_t size, std::shared_ptr<const void> storage,
                               const std::string& where);
};

// Writing, for `elab export --gguf` and the tests: metadata and tensors in order, data
// aligned to `alignment`. Tensor bytes are stored as given (already in `type`'s layout).
struct GgufTensorOut {
  std::string name;
  std::vector<int64_t> dims;  // GGUF order
  GgmlType type = GgmlType::f32;
  std::string bytes;
};
std::string encode_gguf(const std::vector<std::pair<std::string, GgufValue>>& metadata,
                        const std::vector<GgufTensorOut>& tensors, uint32_t alignment = 32);

GgufValue gguf_string(std::string s);
GgufValue gguf_u32(uint32_t v);
GgufValue gguf_f32(float v);
GgufValue gguf_bool(bool v);
GgufValue gguf_strings(const std::vector<std::string>& v);
GgufValue gguf_i32s(const std::vector<int32_t>& v);

}  // namespace elab
