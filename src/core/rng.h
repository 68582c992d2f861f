#pragma once
// Deterministic random numbers that are the same on every platform and standard library
// (std::uniform_int_distribution is not). Every random choice in elab takes a seed derived
// from the study seed with derive_seed, so streams never depend on call order elsewhere.
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace elab {

uint64_t splitmix64(uint64_t x);

// A seed for one purpose: derive_seed(seed, {"data", step}) etc.
uint64_t derive_seed(uint64_t seed, std::string_view purpose, std::initializer_list<uint64_t> ids = {});

class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();                           // 64 random bits (xoshiro256**)
  int64_t uniform_int(int64_t lo, int64_t hi);  // inclusive range, unbiased
  double uniform();                          // [0, 1)
  bool bernoulli(double p) { return uniform() < p; }
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[uniform_int(0, int64_t(i) - 1)]);
  }

 private:
  uint64_t s_[4];
};

}  // namespace elab
