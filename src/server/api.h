#pragma once
// The OpenAI-compatible request surface of `elab serve`: parsing and validating
// /v1/completions and /v1/chat/completions bodies, and OpenAI-style error objects.
// Torch-free, so the request table can be tested without a model.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "text/chat.h"

namespace elab {

// A request the server refuses: HTTP status and an OpenAI error object.
struct ApiError {
  int status = 400;
  std::string message;
  std::string param;                         // the offending field, "" when none
  std::string type = "invalid_request_error";
  std::string body() const;                  // {"error": {"message", "type", "param", "code"}}
};

struct ServerLimits {
  int64_t max_body_bytes = 1 << 20;  // larger bodies: 413
  int max_tokens = 1024;             // per completion
  int max_n = 16;                    // completions per prompt
  int max_prompts = 64;              // prompts per request
  int max_logprobs = 5;              // top alternatives per token
  int64_t context = 0;               // the model's context (prompt + max_tokens must fit)
};

struct CompletionRequest {
  std::vector<std::string> prompts;
  int max_tokens = 16;                // OpenAI's default for completions
  double temperature = 1.0;           // OpenAI's default
  double top_p = 1.0;
  int n = 1;
  std::vector<std::string> stop;
  std::optional<uint64_t> seed;
  int logprobs = -1;                  // -1: none; k >= 0: token log-probs with k alternatives
  bool echo = false;
  bool chat = false;
  std::vector<ChatMessage> messages;  // chat: as sent (prompts[0] is their plain rendering)
  std::string model;
};

// Throws ApiError for anything malformed, out of range or unsupported. `chat` selects
// the chat-completions schema (messages instead of prompt).
CompletionRequest parse_completion_request(const std::string& body, const ServerLimits& limits, bool chat);

// /tokenize and /detokenize, the tokenizer endpoints of vLLM's server that
// lm-evaluation-harness's `local-completions` uses as its tokenizer ("remote").
struct TokenizeRequest {
  std::string prompt;
  bool add_special_tokens = true;  // the BOS the model takes before a prompt, if any
};
TokenizeRequest parse_tokenize_request(const std::string& body, const ServerLimits& limits);
// Ids outside [0, vocab_size) are refused.
std::vector<int32_t> parse_detokenize_request(const std::string& body, const ServerLimits& limits, int vocab_size);

// Chat messages, checked: a non-empty array of {role: system|user|assistant, content}.
std::vector<ChatMessage> parse_chat_messages(const nlohmann::json& messages);
// The plain chat template: the messages' contents in order, joined by one newline, with
// no role markers, so one user message is sent to the model exactly as written. The
// server uses it for models without a chat template of their own.
std::string render_chat(const std::vector<ChatMessage>& messages);

}  // namespace elab
