#pragma once
// Backends by the --model string, registered in one table (registry.cpp):
//   DIR                  a checkpoint or adapter directory: the native engine
//   openai:URL#MODEL     an OpenAI-compatible endpoint
//   replay:FILE          recorded predictions (JSONL)
#include <memory>
#include <string>
#include <vector>

#include "eval/backend.h"

namespace elab {

struct BackendOptions {
  std::string device = "cpu";   // native
  int workers = 1;              // native: threads sharing each batch (one per core is fastest)
  int concurrency = 8;          // openai: requests in flight
  double timeout_seconds = 120; // openai: per request
  int max_retries = 6;          // openai
  bool chat = false;            // openai: /chat/completions
  std::string cache_path;       // openai: SQLite response cache ("" = none)
};

std::unique_ptr<Backend> make_backend(const std::string& model, const BackendOptions& options = {});

// The default response cache: $ELAB_CACHE_DIR or ~/.cache/elab, file openai.sqlite.
std::string default_cache_path();

}  // namespace elab
