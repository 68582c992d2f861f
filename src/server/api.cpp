#include "server/api.h"

#include <fmt/format.h>

#include <set>

namespace elab {

std::string ApiError::body() const {
  nlohmann::json e = {{"message", message}, {"type", type}, {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
                      {"code", nullptr}};
  return nlohmann::json({{"error", e}}).dump();
}

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& message, int status = 400) {
  throw ApiError{status, message, param};
}

int get_int(const nlohmann::json& j, const char* key, int fallback, int lo, int hi) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  const auto& v = j[key];
  if (!v.is_number_integer()) bad(key, fmt::format("'{}' must be an integer", key));
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad(key, fmt::format("'{}' must be between {} and {}, got {}", key, lo, hi, x));
  return int(x);
}

double get_number(const nlohmann::json& j, const char* key, double fallback, double lo, double hi, bool lo_open = false) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  const auto& v = j[key];
  if (!v.is_number()) bad(key, fmt::format("'{}' must be a number", key));
  const double x = v.get<double>();
  if (x < lo || x > hi || (lo_open && x == lo))
    bad(key, fmt::format("'{}' must be in {}{}, {}], got {}", key, lo_open ? "(" : "[", lo, hi, x));
  return x;
}

// A request body within the size limit that is a JSON object, or the ApiError saying why not.
nlohmann::json parse_object(const std::string& body, const ServerLimits& limits) {
  if (int64_t(body.size()) > limits.max_body_bytes)
    bad("", fmt::format("request body of {} bytes exceeds the limit of {}", body.size(), limits.max_body_bytes), 413);
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) bad("", "request body is not valid JSON");
  if (!j.is_object()) bad("", "request body must be a JSON object");
  return j;
}

}  // namespace

std::vector<ChatMessage> parse_chat_messages(const nlohmann::json& messages) {
  if (!messages.is_array() || messages.empty()) bad("messages", "'messages' must be a non-empty array");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      bad("messages", fmt::format("messages[{}] must be an object with a string 'role'", i));
    const std::string role = m["role"];
    if (role != "system" && role != "user" && role != "assistant")
      bad("messages", fmt::format("messages[{}]: unknown role '{}' (system, user or assistant)", i, role));
    if (!m.contains("content") || !m["content"].is_string())
      bad("messages", fmt::format("messages[{}] must have a string 'content'", i));
    out.push_back({role, m["content"].get<std::string>()});
  }
  return out;
}

std::string render_chat(const std::vector<ChatMessage>& messages) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) out += (i > 0 ? "\n" : "") + messages[i].content;
  return out;
}

CompletionRequest parse_completion_request(const std::string& body, const ServerLimits& limits, bool chat) {
  nlohmann::json j = parse_object(body, limits);  // not const: const operator[] asserts on a missing key

  // Fields that would change the result and that this server does not implement.
  if (j.contains("stream") && !j["stream"].is_null()) {
    if (!j["stream"].is_boolean()) bad("stream", "'stream' must be a boolean");
    if (j["stream"].get<bool>()) bad("stream", "streaming is not supported; send \"stream\": false");
  }
  if (j.contains("best_of") && !(j["best_of"].is_number_integer() && j["best_of"].get<int64_t>() == 1))
    bad("best_of", "'best_of' other than 1 is not supported");
  if (j.contains("suffix") && !j["suffix"].is_null()) bad("suffix", "'suffix' is not supported");
  if (j.contains("logit_bias") && !j["logit_bias"].is_null() && !j["logit_bias"].empty())
    bad("logit_bias", "'logit_bias' is not supported");

  CompletionRequest r;
  r.chat = chat;
  if (j.contains("model")) {
    if (!j["model"].is_string()) bad("model", "'model' must be a string");
    r.model = j["model"];
  }
  if (chat) {
    if (!j.contains("messages")) bad("messages", "missing 'messages'");
    r.messages = parse_chat_messages(j["messages"]);
    r.prompts = {render_chat(r.messages)};
    r.max_tokens = get_int(j, "max_tokens", limits.max_tokens, 1, limits.max_tokens);
    if (j.contains("logprobs") && j["logprobs"].is_boolean() && j["logprobs"].get<bool>())
      r.logprobs = get_int(j, "top_logprobs", 0, 0, limits.max_logprobs);
  } else {
    if (!j.contains("prompt")) bad("prompt", "missing 'prompt'");
    const auto& p = j["prompt"];
    if (p.is_string()) {
      r.prompts = {p.get<std::string>()};
    } else if (p.is_array()) {
      if (p.empty()) bad("prompt", "'prompt' is an empty list");
      for (const auto& x : p) {
        if (x.is_number_integer() || x.is_array())
          bad("prompt", "token-id prompts are not supported; send text");
        if (!x.is_string()) bad("prompt", "'prompt' must be a string or a list of strings");
        r.prompts.push_back(x);
      }
    } else {
      bad("prompt", "'prompt' must be a string or a list of strings");
    }
    if (int(r.prompts.size()) > limits.max_prompts)
      bad("prompt", fmt::format("{} prompts in one request; the limit is {}", r.prompts.size(), limits.max_prompts));
    if (j.contains("echo") && !j["echo"].is_null()) {
      if (!j["echo"].is_boolean()) bad("echo", "'echo' must be a boolean");
      r.echo = j["echo"];
    }
    r.max_tokens = get_int(j, "max_tokens", 16, r.echo ? 0 : 1, limits.max_tokens);
    r.logprobs = get_int(j, "logprobs", -1, 0, limits.max_logprobs);
  }
  r.temperature = get_number(j, "temperature", 1.0, 0.0, 2.0);
  r.top_p = get_number(j, "top_p", 1.0, 0.0, 1.0, /*lo_open=*/true);
  r.n = get_int(j, "n", 1, 1, limits.max_n);
  if (j.contains("seed") && !j["seed"].is_null()) {
    if (!j["seed"].is_number_integer()) bad("seed", "'seed' must be an integer");
    r.seed = uint64_t(j["seed"].get<int64_t>());
  }
  if (j.contains("stop") && !j["stop"].is_null()) {
    const auto& s = j["stop"];
    if (s.is_string()) {
      r.stop = {s.get<std::string>()};
    } else if (s.is_array()) {
      if (s.size() > 4) bad("stop", "at most 4 stop sequences");
      for (const auto& x : s) {
        if (!x.is_string()) bad("stop", "'stop' must be a string or a list of strings");
        r.stop.push_back(x);
      }
    } else {
      bad("stop", "'stop' must be a string or a list of strings");
    }
    for (const auto& x : r.stop)
      if (x.empty()) bad("stop", "stop sequences must not be empty");
  }
  if (r.echo && r.max_tokens == 0 && r.n > 1) bad("n", "'n' must be 1 when only scoring the prompt (max_tokens 0)");
  return r;
}

TokenizeRequest parse_tokenize_request(const std::string& body, const ServerLimits& limits) {
  const nlohmann::json j = parse_object(body, limits);
  TokenizeRequest r;
  if (!j.contains("prompt") || !j["prompt"].is_string()) bad("prompt", "'prompt' must be a string");
  r.prompt = j["prompt"];
  if (j.contains("add_special_tokens") && !j["add_special_tokens"].is_null()) {
    if (!j["add_special_tokens"].is_boolean()) bad("add_special_tokens", "'add_special_tokens' must be a boolean");
    r.add_special_tokens = j["add_special_tokens"];
  }
  return r;
}

std::vector<int32_t> parse_detokenize_request(const std::string& body, const ServerLimits& limits, int vocab_size) {
  const nlohmann::json j = parse_object(body, limits);
  if (!j.contains("tokens") || !j["tokens"].is_array()) bad("tokens", "'tokens' must be a list of token ids");
  std::vector<int32_t> ids;
  for (const auto& t : j["tokens"]) {
    if (!t.is_number_integer()) bad("tokens", "'tokens' must be a list of integers");
    const int64_t id = t.get<int64_t>();
    if (id < 0 || id >= vocab_size) bad("tokens", fmt::format("token id {} is outside the vocabulary [0, {})", id, vocab_size));
    ids.push_back(int32_t(id));
  }
  return ids;
}

}  // namespace elab
