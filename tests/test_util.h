#pragma once
// Helpers shared by the tests: a temporary directory that cleans up after itself, a tiny
// model configuration, and the message of an expected error.
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/config.h"

namespace elab::testing {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("elab-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

// A file of raw float32 values (the reference scripts' logits).
inline std::vector<float> read_floats(const std::filesystem::path& path) {
  std::vector<float> v(std::filesystem::file_size(path) / sizeof(float));
  std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
  return v;
}

// A model small enough to run in milliseconds. A large init_std makes attention sharp and
// outputs prompt-dependent, which a bug in masking or caching would disturb.
inline ModelConfig tiny_config(int d_model = 32, int layers = 2, int heads = 2, int ffn = 64, int max_seq = 64,
                               double init_std = 0.02) {
  ModelConfig c;
  c.d_model = d_model;
  c.n_layers = layers;
  c.n_heads = heads;
  c.n_kv_heads = heads;
  c.ffn_hidden = ffn;
  c.max_seq_len = max_seq;
  c.init_std = init_std;
  return c;
}

// The message of the Error that f throws ("" when it throws none).
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace elab::testing
