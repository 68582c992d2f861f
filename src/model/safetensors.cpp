#include "model/safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"

namespace elab {

const torch::Tensor* TensorFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

static const std::vector<std::pair<std::string, torch::ScalarType>>& dtype_names() {
  static const std::vector<std::pair<std::string, torch::ScalarType>> names = {
      {"F64", torch::kDouble}, {"F32", torch::kFloat},   {"F16", torch::kHalf}, {"BF16", torch::kBFloat16},
      {"I64", torch::kLong},   {"I32", torch::kInt},     {"I16", torch::kShort}, {"I8", torch::kChar},
      {"U8", torch::kByte},    {"BOOL", torch::kBool}};
  return names;
}

std::string encode_safetensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> cpu;
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    std::string dtype;
    for (const auto& [n, st] : dtype_names())
      if (st == c.scalar_type()) dtype = n;
    check(!dtype.empty(), "cannot store tensor '{}' of type {} in safetensors", name, std::string(c.dtype().name()));
    size_t nbytes = size_t(c.numel()) * c.element_size();
    header[name] = {{"dtype", dtype}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    cpu.push_back(c);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // align the data section to 8 bytes
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
  out += json;
  out.reserve(out.size() + offset);
  for (const auto& c : cpu) out.append(static_cast<const char*>(c.data_ptr()), size_t(c.numel()) * c.element_size());
  return out;
}

TensorFile decode_safetensors(const std::string& bytes, const std::string& where) {
  check(bytes.size() >= 8, "{}: truncated safetensors file ({} bytes; the header length alone is 8)", where, bytes.size());
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= uint64_t(uint8_t(bytes[size_t(i)])) << (8 * i);
  check(header_len <= bytes.size() - 8, "{}: truncated safetensors file (header claims {} bytes, file has {})", where,
        header_len, bytes.size());
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + int64_t(header_len));
  } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers too large for a double
    fail("{}: malformed safetensors header: {}", where, e.what());
  }
  check(header.is_object(), "{}: safetensors header is not a JSON object", where);
  const size_t data_start = 8 + header_len, data_len = bytes.size() - data_start;

  TensorFile file;
  std::vector<std::tuple<size_t, std::string, torch::Tensor>> ordered;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& info = it.value();
    if (name == "__metadata__") {
      check(info.is_object(), "{}: __metadata__ must be an object", where);
      for (auto m = info.begin(); m != info.end(); ++m) {
        check(m.value().is_string(), "{}: __metadata__ value '{}' must be a string", where, m.key());
        file.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    check(info.is_object() && info.contains("dtype") && info.contains("shape") && info.contains("data_offsets"),
          "{}: tensor '{}' lacks dtype, shape or data_offsets", where, name);
    torch::ScalarType st = torch::kFloat;
    bool known = false;
    for (const auto& [n, s] : dtype_names())
      if (info["dtype"] == n) st = s, known = true;
    check(known, "{}: tensor '{}' has unknown dtype {}", where, name, info["dtype"].dump());
    std::vector<int64_t> shape;
    int64_t numel = 1;
    check(info["shape"].is_array(), "{}: tensor '{}' shape must be an array", where, name);
    for (const auto& d : info["shape"]) {
      check(d.is_number_integer() && d.get<int64_t>() >= 0, "{}: tensor '{}' has a bad dimension {}", where, name, d.dump());
      shape.push_back(d.get<int64_t>());
      numel *= shape.back();
    }
    const auto& off = info["data_offsets"];
    check(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
          "{}: tensor '{}' has malformed data_offsets", where, name);
    size_t begin = off[0].get<size_t>(), end = off[1].get<size_t>();
    size_t expect = size_t(numel) * c10::elementSize(st);
    check(begin <= end && end - begin == expect, "{}: tensor '{}' spans {} bytes but its shape needs {}", where, name,
          end - begin, expect);
    check(end <= data_len, "{}: truncated: tensor '{}' ends at byte {} of a {}-byte data section", where, name, end,
          data_len);
    auto t = torch::empty(shape, torch::TensorOptions().dtype(st));
    if (expect > 0) std::memcpy(t.data_ptr(), bytes.data() + data_start + begin, expect);
    ordered.emplace_back(begin, name, t);
  }
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  for (auto& [b, name, t] : ordered) file.tensors.emplace_back(name, t);
  return file;
}

std::string shape_string(torch::IntArrayRef sizes) { return fmt::format("[{}]", fmt::join(sizes.vec(), ", ")); }

TensorFile read_safetensors(const std::string& path) { return decode_safetensors(read_file(path), path); }

}  // namespace elab
