#include "study/pretrain_settings.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/names.h"
#include "core/settings.h"
#include "study/stages.h"

namespace elab {

namespace {

template <typename T>
PretrainSetting setting(const std::string& key, const std::string& help, SettingType type, T TrainJob::*field,
                        std::string flag = "") {
  if (flag.empty()) flag = flag_of_key(key);
  return {key, flag, help, type, [field](TrainJob& job, const nlohmann::json& v) { job.*field = v.get<T>(); }, {}};
}

// A text setting with a closed set of values, checked where it is given (a study file is
// refused at loading, not when its job runs).
PretrainSetting choice(const std::string& key, const std::string& help, std::string TrainJob::*field,
                       std::vector<std::string> choices) {
  PretrainSetting s = setting(key, help, SettingType::text, field);
  s.choices = std::move(choices);
  return s;
}

const char* type_name(SettingType t) {
  switch (t) {
    case SettingType::text: return "a string";
    case SettingType::number: return "a number";
    case SettingType::integer: return "an integer";
    case SettingType::texts: return "a list of strings";
    case SettingType::integers: return "a list of positive integers";
  }
  return "";
}

}  // namespace

const std::vector<PretrainSetting>& pretrain_settings() {
  using T = SettingType;
  static const std::vector<PretrainSetting> table = {
      choice("optimizer", "adamw, or sgd (momentum, decoupled weight decay)", &TrainJob::optimizer, {"adamw", "sgd"}),
      choice("schedule", "learning rate after the warm-up: cosine, linear or constant", &TrainJob::schedule,
             {"cosine", "linear", "constant"}),
      setting("weight_decay", "decoupled weight decay on matrices (default 0.1)", T::number, &TrainJob::weight_decay),
      setting("beta1", "AdamW's beta1 (default 0.9)", T::number, &TrainJob::beta1),
      setting("beta2", "AdamW's beta2 (default 0.95)", T::number, &TrainJob::beta2),
      setting("momentum", "sgd's momentum (default 0.9)", T::number, &TrainJob::momentum),
      choice("output", "softmax, or stablemax (Prieto et al. 2025) for the loss's probabilities", &TrainJob::output,
             {"softmax", "stablemax"}),
      setting("grad_clip", "max gradient norm, 0 = off (default 1.0)", T::number, &TrainJob::grad_clip),
      setting("min_lr_ratio", "floor of the decay as a fraction of the peak rate (default 0.1)", T::number,
              &TrainJob::min_lr_ratio),
      setting("warmup", "warm-up steps (default: 5% of the steps, at most 200)", T::integer, &TrainJob::warmup_steps),
      setting("train_examples", "a fixed training set of N examples of the recipe's task, drawn once (default: the infinite stream)",
              T::integer, &TrainJob::train_examples),
      setting("epochs", "passes over the fixed training set (instead of tokens)", T::integer, &TrainJob::epochs),
      setting("eval_every", "held-out loss every N steps (default: 20 times per run)", T::integer, &TrainJob::eval_every),
      setting("eval_n", "items per evaluation of eval_tasks (default 100)", T::integer, &TrainJob::eval_n),
      setting("eval_tasks", "task accuracy at every held-out evaluation: TASK[@SPLIT[@METHOD]] on fixed items (repeatable)",
              T::texts, &TrainJob::eval_tasks, "--eval-task"),
      setting("save_at", "keep snapshots at these steps (100,1000,5000) in OUT/snapshots/", T::integers,
              &TrainJob::save_at),
  };
  return table;
}

const PretrainSetting* find_pretrain_setting(const std::string& key) {
  for (const auto& s : pretrain_settings())
    if (s.key == key) return &s;
  return nullptr;
}

nlohmann::json pretrain_setting_value(const PretrainSetting& s, const nlohmann::json& v, const std::string& what) {
  const auto wrong = [&] { fail("{}: must be {}, got {}", what, type_name(s.type), v.dump()); };
  switch (s.type) {
    case SettingType::text:
      if (!v.is_string()) wrong();
      if (!s.choices.empty() && std::find(s.choices.begin(), s.choices.end(), v.get<std::string>()) == s.choices.end())
        fail_unknown(what, v.get<std::string>(), s.choices);
      return v;
    case SettingType::number:
      if (!v.is_number()) wrong();
      return v.get<double>();
    case SettingType::integer:
      if (!v.is_number_integer()) wrong();
      return v;
    case SettingType::texts:
      if (!v.is_array() || v.empty()) wrong();
      for (const auto& x : v)
        if (!x.is_string()) wrong();
      return v;
    case SettingType::integers:
      if (!v.is_array() || v.empty()) wrong();
      for (const auto& x : v)
        if (!x.is_number_integer() || x.get<int64_t>() <= 0) wrong();
      return v;
  }
  return v;
}

nlohmann::json pretrain_setting_from_words(const PretrainSetting& s, const std::vector<std::string>& words,
                                      const std::string& what) {
  check(!words.empty(), "{} needs a value", what);
  nlohmann::json v;
  switch (s.type) {
    case SettingType::text: v = words.back(); break;
    case SettingType::number: v = parse_number_setting(words.back(), what); break;
    case SettingType::integer: v = parse_integer_setting(words.back(), what); break;
    case SettingType::texts: v = words; break;
    case SettingType::integers:
      v = nlohmann::json::array();
      for (const auto& w : words) v.push_back(parse_integer_setting(w, what));
      break;
  }
  return pretrain_setting_value(s, v, what);
}

nlohmann::json checked_pretrain_settings(const nlohmann::json& settings, const std::string& where) {
  check(settings.is_object(), "{}: pre-training settings must be a JSON object", where);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : settings.items()) {
    const PretrainSetting* s = find_pretrain_setting(key);
    if (!s) {
      std::vector<std::string> keys;
      for (const auto& x : pretrain_settings()) keys.push_back(x.key);
      fail_unknown(where + ": pre-training setting", key, keys);
    }
    out[key] = pretrain_setting_value(*s, value, where + ": " + key);
  }
  return out;
}

void apply_pretrain_settings(TrainJob& job, const nlohmann::json& settings) {
  for (const auto& [key, value] : settings.items()) {
    const PretrainSetting* s = find_pretrain_setting(key);
    check(s != nullptr, "unknown pre-training setting '{}'", key);
    s->set(job, value);
  }
}

}  // namespace elab
