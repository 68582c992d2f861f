#pragma once
// Chat templates of instruct models. A model's template is Jinja text (tokenizer_config.json's
// chat_template, GGUF's tokenizer.chat_template); elab has no Jinja engine, so it recognises
// the template families it supports by their markers and renders them itself. Parity with
// the Jinja rendering of each shipped model's template is tested (tests/text/chat_test.cpp
// against jinja2). An unrecognised template is an Error naming its start, never a guess.
#include <optional>
#include <string>
#include <vector>

namespace elab {

struct ChatMessage {
  std::string role;  // system, user, assistant
  std::string content;
};

struct ChatTemplate {
  std::string kind;            // "chatml" (<|im_start|>role ... <|im_end|>) or "gemma" (<start_of_turn>)
  std::string default_system;  // chatml: the system turn the template adds when none is given ("" = none)
};

// nullopt for an empty template (a base model); `where` names the model in errors.
std::optional<ChatTemplate> recognise_chat_template(const std::string& jinja, const std::string& where);

// The text of the conversation, ending with the assistant turn's opening when
// `generation_prompt`. No BOS: the tokenizer adds it where the model takes one.
std::string apply_chat_template(const ChatTemplate& t, const std::vector<ChatMessage>& messages, bool generation_prompt);

}  // namespace elab
