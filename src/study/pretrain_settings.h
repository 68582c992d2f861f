#pragma once
// The pre-training settings beyond a job's basics, in one table: optimiser, schedule, data
// regime, evaluations during training and snapshots. Each has its study-file key in
// [pretrain], its `elab train` flag and its help; `elab train`'s flags, the keys a study
// accepts and the "control" object of a pre-training job's key are made from this table
// alone, so a setting added here is on the command line, in study files and in job keys
// at once. Values are typed JSON (a string, a number, an integer, or lists of strings or
// integers); only settings that are given enter a job key, so the keys of studies that
// give none stay what they were (the shipped bases are found by key). Torch-free.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace elab {

struct TrainJob;  // study/stages.h

enum class SettingType { text, number, integer, texts, integers };

struct PretrainSetting {
  std::string key;   // study-file key, snake_case
  std::string flag;  // `elab train`'s flag
  std::string help;
  SettingType type;
  std::function<void(TrainJob&, const nlohmann::json&)> set;  // a checked value onto the job
  std::vector<std::string> choices;  // a text setting's valid values (empty: any text)
};

const std::vector<PretrainSetting>& pretrain_settings();
const PretrainSetting* find_pretrain_setting(const std::string& key);  // nullptr when unknown

// A setting's value from JSON (a study file's value, a stored record): checked against its
// type, integers given for a number made numbers. An Error naming `what` (the setting
// and where it was given: "t.toml:12: save_at", "--save-at") otherwise.
nlohmann::json pretrain_setting_value(const PretrainSetting& s, const nlohmann::json& value, const std::string& what);
// The same from command-line words (one, or one per item of a list).
nlohmann::json pretrain_setting_from_words(const PretrainSetting& s, const std::vector<std::string>& words,
                                      const std::string& what);

// A whole settings object checked (unknown keys name the known ones) and made canonical.
nlohmann::json checked_pretrain_settings(const nlohmann::json& settings, const std::string& where);
// Sets every setting of a checked object on the job; absent ones keep the job's defaults.
void apply_pretrain_settings(TrainJob& job, const nlohmann::json& settings);

}  // namespace elab
