#pragma once
// Backends by the --model string, registered in one table (registry.cpp):
//   DIR                  a checkpoint or adapter directory: the native engine
//   openai:URL#MODEL     an OpenAI-compatible endpoint
//   replay:FILE          recorded predictions (JSONL)
// Each backend reads its own options from "key=value,..." (as lm-evaluation-harness's
// model_args) and refuses keys it does not know, so a study or a command line can hand
// any backend its settings as one string.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eval/backend.h"

namespace elab {

using BackendArgs = std::map<std::string, std::string>;
// "concurrency=8,timeout=30" -> {concurrency: 8, timeout: 30}; an Error names a bad entry.
BackendArgs parse_backend_args(const std::string& text);
std::string format_backend_args(const BackendArgs& args);

struct BackendEntry {
  std::string scheme;       // "" = a model directory (the native engine)
  std::string usage;        // "openai:URL#MODEL"
  std::string description;
  std::vector<std::pair<std::string, std::string>> options;  // key, meaning (with its default)
  std::string cannot_train;  // why fine-tuning on it is refused; "" = it can be trained
  // It may score continuations (Backend::score): likelihood methods (mc:K) are planned on
  // it. An endpoint can only say so at run time, and is given the benefit of the doubt.
  bool can_score = true;
};

// A backend's options as its factory reads them: each key at most once, unknown keys
// refused (check_known, before the factory runs), values checked with the key named.
struct BackendOptions {
  const BackendEntry& entry;
  const BackendArgs& args;

  void check_known() const;
  std::string text(const std::string& key, const std::string& fallback) const;
  int64_t integer(const std::string& key, int64_t fallback, int64_t min) const;
  double number(const std::string& key, double fallback) const;  // > 0
  bool flag(const std::string& key, bool fallback) const;
};

// Makes the backend of a model string's rest (after "SCHEME:"; the whole string for the
// native engine).
using BackendFactory = std::function<std::unique_ptr<Backend>(const std::string& rest, const BackendOptions& options)>;

std::vector<BackendEntry> backend_registry();
// Adds a backend at run time: models "SCHEME:..." are made by `factory` (a test's dummy
// backend; the built-in ones are the lines of table() in registry.cpp).
void register_backend(BackendEntry entry, BackendFactory factory);
// The entry that serves `model` (its scheme, else the native engine).
const BackendEntry& backend_for(const std::string& model);

// Unknown option keys, or values of the wrong kind: an Error naming the backend and key.
std::unique_ptr<Backend> make_backend(const std::string& model, const BackendArgs& args = {});

// The default response cache: $ELAB_CACHE_DIR or ~/.cache/elab, file openai.sqlite.
std::string default_cache_path();

}  // namespace elab
