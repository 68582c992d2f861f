#include "core/hash.h"

#include <fmt/format.h>

namespace elab {

Hasher& Hasher::add(std::string_view bytes) {
  uint64_t h = h_;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h_ = h;
  return *this;
}

std::string Hasher::hex() const { return fmt::format("{:016x}", h_); }

std::string hash_hex(std::string_view bytes) { return Hasher().add(bytes).hex(); }

}  // namespace elab
