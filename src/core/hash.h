#pragma once
// A 64-bit content hash (FNV-1a) written as 16 hex digits: data hashes in meta.json,
// base-checkpoint hashes for adapters, job keys of studies.
#include <cstdint>
#include <string>
#include <string_view>

namespace elab {

class Hasher {
 public:
  Hasher& add(std::string_view bytes);
  Hasher& add(const void* data, size_t n) { return add(std::string_view(static_cast<const char*>(data), n)); }
  uint64_t value() const { return h_; }
  std::string hex() const;

 private:
  uint64_t h_ = 0xcbf29ce484222325ULL;
};

std::string hash_hex(std::string_view bytes);

}  // namespace elab
