// Chat templates against Jinja2's rendering of the real template text (as transformers'
// apply_chat_template renders it): SmolLM2's from its GGUF file, and Gemma 3's string
// path (tests/python/chat_template.py).
#include "text/chat.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "python_oracle.h"
#include "test_util.h"

namespace elab {
namespace {

using nlohmann::json;

std::string trimmed_line(const std::string& s) { return s.substr(0, s.find_last_not_of("\n") + 1); }

TEST(ChatTemplate, RendersAsJinjaDoesForTheShippedTemplates) {
  const std::string gguf = trimmed_line(testing::run_python("paths.py", "smollm2"));
  const json expected = json::parse(testing::run_python("chat_template.py", testing::shell_quote(gguf)));
  const auto& conversations = expected["conversations"];
  ASSERT_EQ(expected["templates"].size(), 2u);
  for (const auto& t : expected["templates"]) {
    const auto recognised = recognise_chat_template(t["template"].get<std::string>(), t["name"].get<std::string>());
    ASSERT_TRUE(recognised.has_value()) << t["name"];
    EXPECT_EQ(recognised->kind, t["name"] == "smollm2" ? "chatml" : "gemma");
    for (size_t i = 0; i < conversations.size(); ++i) {
      std::vector<ChatMessage> messages;
      for (const auto& m : conversations[i]) messages.push_back({m["role"], m["content"]});
      EXPECT_EQ(apply_chat_template(*recognised, messages, true), t["rendered"][i].get<std::string>())
          << t["name"] << " conversation " << i;
    }
  }
}

TEST(ChatTemplate, NoTemplateIsNoneAndAnUnknownOneIsAnErrorNamingIt) {
  EXPECT_FALSE(recognise_chat_template("", "base.gguf").has_value());
  const std::string message = testing::error_of([] {
    recognise_chat_template("{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}", "mistral.gguf");
  });
  EXPECT_NE(message.find("mistral.gguf"), std::string::npos) << message;
  EXPECT_NE(message.find("[INST]"), std::string::npos) << message;
  // A ChatML template without a default system turn adds none.
  const auto plain = recognise_chat_template(
      "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% endfor %}", "qwen");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(apply_chat_template(*plain, {{"user", "hi"}}, false), "<|im_start|>user\nhi<|im_end|>\n");
}

}  // namespace
}  // namespace elab
