#include "text/chat.h"

#include <fmt/format.h>

#include "core/error.h"

namespace elab {

namespace {

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

// ChatML templates (SmolLM2, Qwen2) that open with a fixed system turn when the messages
// have none write it as a string literal: '<|im_start|>system\n...<|im_end|>\n'.
std::string chatml_default_system(const std::string& jinja) {
  const size_t cond = jinja.find("!= 'system'");
  if (cond == std::string::npos) return "";
  const std::string open = "<|im_start|>system\n";
  const size_t at = jinja.find(open, cond);
  if (at == std::string::npos) return "";
  const size_t start = at + open.size(), end = jinja.find("<|im_end|>", start);
  if (end == std::string::npos) return "";
  return jinja.substr(start, end - start);
}

// Jinja's `trim`: leading and trailing whitespace.
std::string trimmed(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  const size_t a = s.find_first_not_of(ws);
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(ws) - a + 1);
}

}  // namespace

std::optional<ChatTemplate> recognise_chat_template(const std::string& jinja, const std::string& where) {
  if (jinja.empty()) return std::nullopt;
  if (contains(jinja, "<|im_start|>") && contains(jinja, "<|im_end|>"))
    return ChatTemplate{"chatml", chatml_default_system(jinja)};
  if (contains(jinja, "<start_of_turn>") && contains(jinja, "<end_of_turn>")) return ChatTemplate{"gemma", ""};
  fail("{}: chat template not supported (elab renders ChatML and Gemma templates); it begins: {}", where,
       jinja.substr(0, 80));
}

std::string apply_chat_template(const ChatTemplate& t, const std::vector<ChatMessage>& messages, bool generation_prompt) {
  std::string out;
  if (t.kind == "chatml") {
    if (!t.default_system.empty() && (messages.empty() || messages[0].role != "system"))
      out += "<|im_start|>system\n" + t.default_system + "<|im_end|>\n";
    for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    if (generation_prompt) out += "<|im_start|>assistant\n";
    return out;
  }
  check(t.kind == "gemma", "unknown chat template kind '{}'", t.kind);
  // Gemma has no system role: a system message becomes the head of the first user turn.
  std::string first_user_prefix;
  size_t first = 0;
  if (!messages.empty() && messages[0].role == "system") first_user_prefix = messages[0].content + "\n\n", first = 1;
  for (size_t i = first; i < messages.size(); ++i) {
    const std::string role = messages[i].role == "assistant" ? "model" : messages[i].role;
    out += "<start_of_turn>" + role + "\n" + (i == first ? first_user_prefix : "") + trimmed(messages[i].content) +
           "<end_of_turn>\n";
  }
  if (generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

}  // namespace elab
