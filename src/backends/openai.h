#pragma once
// The openai backend: any OpenAI-compatible completions endpoint (vLLM, llama.cpp
// server, Ollama, a hosted API, `elab serve`). One request per prompt (n samples each),
// C requests in flight, retries with exponential back-off on 429, 5xx and timeouts, and
// a SQLite cache of responses keyed by the request, so an interrupted evaluation resumes
// without paying twice.
#include <memory>
#include <string>

#include "eval/backend.h"

namespace elab {

struct OpenAIOptions {
  std::string base_url;         // "http://127.0.0.1:8080/v1"
  std::string model;            // the "model" field of requests
  std::string api_key;          // "" = none (else from ELAB_API_KEY / OPENAI_API_KEY)
  int concurrency = 8;
  double timeout_seconds = 120;
  int max_retries = 6;
  double backoff_seconds = 0.5;  // first wait; doubles each retry (Retry-After wins)
  bool chat = false;             // /chat/completions with one user message
  std::string cache_path;        // "" = no cache
};

// "openai:URL#MODEL" -> options (URL without the scheme prefix "openai:").
OpenAIOptions parse_openai_spec(const std::string& spec);

std::unique_ptr<Backend> make_openai_backend(const OpenAIOptions& options);

}  // namespace elab
