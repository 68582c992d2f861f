#include "eval/eval_settings.h"

#include "core/error.h"
#include "core/names.h"
#include "core/settings.h"

namespace elab {

std::string EvalSetting::flag() const { return flag_of_key(key); }

const std::vector<EvalSetting>& eval_settings() {
  static const std::vector<EvalSetting> table = {
      {"max_new_tokens", "generation limit in tokens (default: the method's, 32 direct and 256 for chains)", false,
       [](EvalSpec& s, const std::string& text, const std::string& what) {
         const int64_t v = parse_integer_setting(text, what);
         check(v >= 0 && v <= 1 << 20, "{} must be between 0 (the method's default) and 1048576, got {}", what, v);
         s.max_new_tokens = int(v);
       }},
      {"per_item_exemplars", "fresh exemplars for every test item (default: the same K for all)", true,
       [](EvalSpec& s, const std::string& text, const std::string& what) {
         check(text == "true" || text == "false", "{} must be true or false, got '{}'", what, text);
         s.per_item_exemplars = text == "true";
       }},
  };
  return table;
}

const EvalSetting* find_eval_setting(const std::string& key) {
  for (const auto& s : eval_settings())
    if (s.key == key) return &s;
  return nullptr;
}

void apply_eval_settings(EvalSpec& spec, const std::map<std::string, std::string>& settings, const std::string& where) {
  for (const auto& [key, text] : settings) {
    const EvalSetting* s = find_eval_setting(key);
    if (!s) {
      std::vector<std::string> keys;
      for (const auto& x : eval_settings()) keys.push_back(x.key);
      fail_unknown(where + ": evaluation setting", key, keys);
    }
    s->set(spec, text, where.empty() ? s->flag() : where + ": " + key);
  }
}

}  // namespace elab
