#include "model/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <limits>

#include "core/error.h"

namespace elab {

int64_t GgufTensorInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

uint64_t GgufTensorInfo::bytes() const {
  return uint64_t(elements() / ggml_block_size(type)) * uint64_t(ggml_block_bytes(type));
}

// Reads the file front to back. Every read names its offset; no count read from the
// file is trusted until the bytes it would need are known to be there.
struct GgufParser {
  const uint8_t* p;
  uint64_t size, pos = 0;
  const std::string& where;

  [[noreturn]] void bad(const std::string& what) const { fail("{}: {} at byte {}", where, what, pos); }
  void need(uint64_t n, const char* what) const {
    if (n > size - pos) bad(fmt::format("truncated file: {} needs {} bytes, {} remain", what, n, size - pos));
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p + pos, sizeof(T));  // GGUF is little-endian, as is every machine elab builds for
    pos += sizeof(T);
    return v;
  }
  std::string string(const char* what) {
    const uint64_t n = read<uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(p + pos), n);
    pos += n;
    return s;
  }

  static uint64_t min_bytes(GgufValueType t) {  // the least a value of type t can occupy
    switch (t) {
      case GgufValueType::u8: case GgufValueType::i8: case GgufValueType::boolean: return 1;
      case GgufValueType::u16: case GgufValueType::i16: return 2;
      case GgufValueType::u32: case GgufValueType::i32: case GgufValueType::f32: return 4;
      case GgufValueType::string: case GgufValueType::u64: case GgufValueType::i64: case GgufValueType::f64: return 8;
      case GgufValueType::array: return 12;
    }
    return 1;
  }

  GgufValue value(GgufValueType type, const std::string& key, int depth) {
    GgufValue v;
    v.type = type;
    auto integer = [&](int64_t x) { v.integer = x, v.number = double(x); };
    switch (type) {
      case GgufValueType::u8: integer(read<uint8_t>("a u8 value")); break;
      case GgufValueType::i8: integer(read<int8_t>("an i8 value")); break;
      case GgufValueType::u16: integer(read<uint16_t>("a u16 value")); break;
      case GgufValueType::i16: integer(read<int16_t>("an i16 value")); break;
      case GgufValueType::u32: integer(read<uint32_t>("a u32 value")); break;
      case GgufValueType::i32: integer(read<int32_t>("an i32 value")); break;
      case GgufValueType::i64: integer(read<int64_t>("an i64 value")); break;
      case GgufValueType::u64: {
        const uint64_t x = read<uint64_t>("a u64 value");
        if (x > uint64_t(std::numeric_limits<int64_t>::max())) bad(fmt::format("key '{}': u64 value {} is too large", key, x));
        integer(int64_t(x));
        break;
      }
      case GgufValueType::f32: v.number = read<float>("an f32 value"); break;
      case GgufValueType::f64: v.number = read<double>("an f64 value"); break;
      case GgufValueType::boolean: {
        const uint8_t b = read<uint8_t>("a bool value");
        if (b > 1) bad(fmt::format("key '{}': bool value {} is neither 0 nor 1", key, b));
        integer(b);
        break;
      }
      case GgufValueType::string: v.text = string("a string value"); break;
      case GgufValueType::array: {
        if (depth > 0) bad(fmt::format("key '{}': arrays of arrays are not supported", key));
        v.item_type = value_type(key);
        const uint64_t n = read<uint64_t>("an array length");
        // Each item occupies at least min_bytes: a length the rest of the file cannot
        // hold is refused before anything is allocated for it.
        if (n > (size - pos) / min_bytes(v.item_type))
          bad(fmt::format("key '{}': array of {} items cannot fit in the {} bytes left", key, n, size - pos));
        v.items.reserve(n);
        for (uint64_t i = 0; i < n; ++i) v.items.push_back(value(v.item_type, key, depth + 1));
        break;
      }
    }
    return v;
  }

  GgufValueType value_type(const std::string& key) {
    const uint32_t t = read<uint32_t>("a value type");
    if (t > uint32_t(GgufValueType::f64)) bad(fmt::format("key '{}': unknown value type {}", key, t));
    return GgufValueType(t);
  }
};

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

GgufFile GgufFile::parse(std::string bytes, const std::string& where) {
  auto owned = std::make_shared<std::string>(std::move(bytes));
  return from_mapping(reinterpret_cast<const uint8_t*>(owned->data()), owned->size(), owned, where);
}

GgufFile GgufFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  check(fd >= 0, "{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  const uint64_t size = uint64_t(st.st_size);
  if (size == 0) {
    ::close(fd);
    fail("{}: empty file (not GGUF)", path);
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  check(map != MAP_FAILED, "{}: cannot map {} bytes: {}", path, size, std::strerror(errno));
  std::shared_ptr<const void> storage(map, [size](const void* m) { ::munmap(const_cast<void*>(m), size); });
  return from_mapping(static_cast<const uint8_t*>(map), size, storage, path);
}

GgufFile GgufFile::from_mapping(const uint8_t* bytes, uint64_t size, std::shared_ptr<const void> storage,
                               const std::string& where) {
  GgufFile f;
  GgufParser in{bytes, size, 0, where};
  in.need(4, "the magic number");
  if (std::memcmp(bytes, "GGUF", 4) != 0) in.bad("not a GGUF file (the first 4 bytes are not 'GGUF')");
  in.pos = 4;
  const uint32_t version = in.read<uint32_t>("the version");
  if (version != 2 && version != 3) {
    in.pos -= 4;
    in.bad(fmt::format("GGUF version {} is not supported (this build reads versions 2 and 3)", version));
  }
  const uint64_t n_tensors = in.read<uint64_t>("the tensor count");
  const uint64_t n_kv = in.read<uint64_t>("the metadata count");
  // A key is at least 8 + 4 + 1 bytes; a tensor description at least 8 + 4 + 8 + 4 + 8.
  if (n_kv > (size - in.pos) / 13) in.bad(fmt::format("metadata count {} cannot fit in the file", n_kv));
  if (n_tensors > (size - in.pos) / 32) in.bad(fmt::format("tensor count {} cannot fit in the file", n_tensors));

  std::map<std::string, GgufValue> metadata;
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t at = in.pos;
    std::string key = in.string("a metadata key");
    if (metadata.count(key)) {
      in.pos = at;
      in.bad(fmt::format("duplicate metadata key '{}'", key));
    }
    const GgufValueType type = in.value_type(key);
    metadata[key] = in.value(type, key, 0);
  }
  uint64_t alignment = 32;
  if (auto it = metadata.find("general.alignment"); it != metadata.end()) {
    const auto& v = it->second;
    check(v.type == GgufValueType::u32 && v.integer > 0 && (v.integer & (v.integer - 1)) == 0,
          "{}: general.alignment must be a power of two (u32), got {}", where, v.number);
    alignment = uint64_t(v.integer);
  }

  std::vector<GgufTensorInfo> tensors;
  std::map<std::string, size_t> seen;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const uint64_t at = in.pos;
    GgufTensorInfo t;
    t.name = in.string("a tensor name");
    if (seen.count(t.name)) {
      in.pos = at;
      in.bad(fmt::format("duplicate tensor '{}'", t.name));
    }
    const uint32_t n_dims = in.read<uint32_t>("a tensor's dimension count");
    if (n_dims == 0 || n_dims > 4) in.bad(fmt::format("tensor '{}': {} dimensions (ggml has 1 to 4)", t.name, n_dims));
    int64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t n = in.read<uint64_t>("a tensor dimension");
      if (n == 0 || n > (uint64_t(1) << 40) || uint64_t(elements) > (uint64_t(1) << 48) / n)
        in.bad(fmt::format("tensor '{}': dimension {} of size {} is out of range", t.name, d, n));
      t.dims.push_back(int64_t(n));
      elements *= int64_t(n);
    }
    const uint32_t type = in.read<uint32_t>("a tensor type");
    if (!ggml_type_supported(type))
      in.bad(fmt::format("tensor '{}': {} is not supported (this build reads F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, "
                         "Q8_0, Q4_K, Q5_K, Q6_K)", t.name, ggml_type_name(type)));
    t.type = GgmlType(type);
    if (t.dims[0] % ggml_block_size(t.type) != 0)
      in.bad(fmt::format("tensor '{}': its rows of {} values are not whole {} blocks of {}", t.name, t.dims[0],
                         ggml_type_name(type), ggml_block_size(t.type)));
    t.offset = in.read<uint64_t>("a tensor offset");
    if (t.offset % alignment != 0)
      in.bad(fmt::format("tensor '{}': offset {} is not a multiple of the alignment {}", t.name, t.offset, alignment));
    seen[t.name] = tensors.size();
    tensors.push_back(std::move(t));
  }
  const uint64_t data_start = align_up(in.pos, alignment);
  if (data_start > size && !tensors.empty()) in.bad("truncated file: the tensor data section is missing");
  const uint64_t data_size = data_start <= size ? size - data_start : 0;
  for (const auto& t : tensors) {
    const uint64_t n = t.bytes();
    check(t.offset <= data_size && n <= data_size - t.offset,
          "{}: tensor '{}' ({} bytes at data offset {}) runs past the end of the file (the data section holds {} "
          "bytes, from byte {})", where, t.name, n, t.offset, data_size, data_start);
  }

  f.where_ = where;
  f.version_ = version;
  f.metadata_ = std::move(metadata);
  f.tensors_ = std::move(tensors);
  f.storage_ = std::move(storage);
  f.data_ = bytes + std::min(data_start, size);
  f.data_size_ = data_size;
  return f;
}

const GgufValue& GgufFile::at(const std::string& key) const {
  auto it = metadata_.find(key);
  check(it != metadata_.end(), "{}: metadata key '{}' is missing", where_, key);
  return it->second;
}

static bool is_integer(GgufValueType t) {
  return t != GgufValueType::f32 && t != GgufValueType::f64 && t != GgufValueType::string && t != GgufValueType::array;
}

int64_t GgufFile::integer(const std::string& key) const {
  const auto& v = at(key);
  check(is_integer(v.type), "{}: metadata key '{}' should be an integer", where_, key);
  return v.integer;
}

int64_t GgufFile::integer_or(const std::string& key, int64_t fallback) const { return has(key) ? integer(key) : fallback; }

double GgufFile::number_or(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  const auto& v = at(key);
  check(v.type != GgufValueType::string && v.type != GgufValueType::array, "{}: metadata key '{}' should be a number",
        where_, key);
  return v.number;
}

std::string GgufFile::string_or(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const auto& v = at(key);
  check(v.type == GgufValueType::string, "{}: metadata key '{}' should be a string", where_, key);
  return v.text;
}

bool GgufFile::boolean_or(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& v = at(key);
  check(v.type == GgufValueType::boolean, "{}: metadata key '{}' should be a bool", where_, key);
  return v.integer != 0;
}

std::vector<std::string> GgufFile::strings(const std::string& key) const {
  const auto& v = at(key);
  check(v.type == GgufValueType::array && v.item_type == GgufValueType::string,
        "{}: metadata key '{}' should be an array of strings", where_, key);
  std::vector<std::string> out;
  out.reserve(v.items.size());
  for (const auto& item : v.items) out.push_back(item.text);
  return out;
}

std::vector<double> GgufFile::numbers(const std::string& key) const {
  const auto& v = at(key);
  check(v.type == GgufValueType::array && v.item_type != GgufValueType::string,
        "{}: metadata key '{}' should be an array of numbers", where_, key);
  std::vector<double> out;
  out.reserve(v.items.size());
  for (const auto& item : v.items) out.push_back(item.number);
  return out;
}

const GgufTensorInfo* GgufFile::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

std::string_view GgufFile::raw(const GgufTensorInfo& t) const {
  return {reinterpret_cast<const char*>(data_ + t.offset), size_t(t.bytes())};
}

std::vector<float> GgufFile::dequantized(const GgufTensorInfo& t) const {
  std::vector<float> out(size_t(t.elements()));
  dequantize(t.type, data_ + t.offset, t.elements(), out.data());
  return out;
}

// ---- writing ----

namespace {

struct Writer {
  std::string out;
  template <typename T>
  void put(T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void string(const std::string& s) {
    put<uint64_t>(s.size());
    out += s;
  }
  void value(const GgufValue& v) {
    switch (v.type) {
      case GgufValueType::u8: put<uint8_t>(uint8_t(v.integer)); break;
      case GgufValueType::i8: put<int8_t>(int8_t(v.integer)); break;
      case GgufValueType::u16: put<uint16_t>(uint16_t(v.integer)); break;
      case GgufValueType::i16: put<int16_t>(int16_t(v.integer)); break;
      case GgufValueType::u32: put<uint32_t>(uint32_t(v.integer)); break;
      case GgufValueType::i32: put<int32_t>(int32_t(v.integer)); break;
      case GgufValueType::u64: put<uint64_t>(uint64_t(v.integer)); break;
      case GgufValueType::i64: put<int64_t>(v.integer); break;
      case GgufValueType::f32: put<float>(float(v.number)); break;
      case GgufValueType::f64: put<double>(v.number); break;
      case GgufValueType::boolean: put<uint8_t>(v.integer ? 1 : 0); break;
      case GgufValueType::string: string(v.text); break;
      case GgufValueType::array:
        put<uint32_t>(uint32_t(v.item_type));
        put<uint64_t>(v.items.size());
        for (const auto& item : v.items) value(item);
        break;
    }
  }
};

}  // namespace

std::string encode_gguf(const std::vector<std::pair<std::string, GgufValue>>& metadata,
                        const std::vector<GgufTensorOut>& tensors, uint32_t alignment) {
  Writer w;
  w.out = "GGUF";
  w.put<uint32_t>(3);
  w.put<uint64_t>(tensors.size());
  const bool write_alignment = alignment != 32;
  w.put<uint64_t>(metadata.size() + (write_alignment ? 1 : 0));
  for (const auto& [key, v] : metadata) {
    w.string(key);
    w.put<uint32_t>(uint32_t(v.type));
    w.value(v);
  }
  if (write_alignment) {
    w.string("general.alignment");
    w.put<uint32_t>(uint32_t(GgufValueType::u32));
    w.put<uint32_t>(alignment);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    w.string(t.name);
    w.put<uint32_t>(uint32_t(t.dims.size()));
    for (int64_t d : t.dims) w.put<uint64_t>(uint64_t(d));
    w.put<uint32_t>(uint32_t(t.type));
    w.put<uint64_t>(offset);
    offset = align_up(offset + t.bytes.size(), alignment);
  }
  w.out.resize(align_up(w.out.size(), alignment), '\0');
  for (const auto& t : tensors) {
    w.out += t.bytes;
    w.out.resize(align_up(w.out.size(), alignment), '\0');
  }
  return w.out;
}

GgufValue gguf_string(std::string s) {
  GgufValue v;
  v.type = GgufValueType::string;
  v.text = std::move(s);
  return v;
}

// An integer-valued metadata value of `type`, with both readings set (see GgufValue).
static GgufValue integer_value(GgufValueType type, int64_t x) {
  GgufValue v;
  v.type = type;
  v.integer = x;
  v.number = double(x);
  return v;
}

GgufValue gguf_u32(uint32_t x) { return integer_value(GgufValueType::u32, x); }

GgufValue gguf_f32(float x) {
  GgufValue v;
  v.type = GgufValueType::f32;
  v.number = x;
  return v;
}

GgufValue gguf_bool(bool x) { return integer_value(GgufValueType::boolean, x); }

GgufValue gguf_strings(const std::vector<std::string>& items) {
  GgufValue v;
  v.type = GgufValueType::array;
  v.item_type = GgufValueType::string;
  for (const auto& s : items) v.items.push_back(gguf_string(s));
  return v;
}

GgufValue gguf_i32s(const std::vector<int32_t>& items) {
  GgufValue v;
  v.type = GgufValueType::array;
  v.item_type = GgufValueType::i32;
  for (int32_t x : items) v.items.push_back(integer_value(GgufValueType::i32, x));
  return v;
}

}  // namespace elab
