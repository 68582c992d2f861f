#pragma once
// The fine-tuning settings a user sets, in one table. Each has its study-file key (the
// command-line flag is "--" and the key with '-' for '_'), its help, and how its text
// reads into a FinetuneConfig. `elab finetune`'s flags and a study's [[finetune]] keys
// are made from this table alone, and a study job's key carries the settings that differ
// from the defaults (FinetuneJobSpec::settings), so a setting added here is on the command
// line, in study files and in job keys at once. Ranges are checked by
// FinetuneConfig::validate and the method's own validate, with the flag's name.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "train/finetune.h"

namespace elab {

struct FinetuneSetting {
  std::string key;   // study-file key, snake_case
  std::string help;
  std::function<void(FinetuneConfig&, const std::string& text, const std::string& where)> set;
  std::function<std::string(const FinetuneConfig&)> get;
  std::string flag() const;  // "--lora-dropout" for "lora_dropout"
};

const std::vector<FinetuneSetting>& finetune_settings();
const FinetuneSetting* find_finetune_setting(const std::string& key);

// Sets each key = text of `settings` on `config`; an unknown key or a value that does not
// parse is an Error naming `where`, the key and the valid ones.
void apply_finetune_settings(FinetuneConfig& config, const std::map<std::string, std::string>& settings,
                             const std::string& where);

}  // namespace elab
