#include "core/rng.h"

#include "core/error.h"

namespace elab {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t derive_seed(uint64_t seed, std::string_view purpose, std::initializer_list<uint64_t> ids) {
  uint64_t h = splitmix64(seed);
  for (unsigned char c : purpose) h = splitmix64(h ^ c);
  for (uint64_t id : ids) h = splitmix64(h ^ splitmix64(id));
  return h;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = x = splitmix64(x);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

int64_t Rng::uniform_int(int64_t lo, int64_t hi) {
  check(lo <= hi, "uniform_int: empty range [{}, {}]", lo, hi);
  const uint64_t span = uint64_t(hi - lo) + 1;
  if (span == 0) return int64_t(next());  // the whole 64-bit range
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;  // reject to stay unbiased
  uint64_t x;
  do x = next(); while (x >= limit);
  return lo + int64_t(x % span);
}

double Rng::uniform() { return double(next() >> 11) * 0x1.0p-53; }

}  // namespace elab
