#pragma once
// The evaluation settings that change the numbers beyond a job's task, split, method, N and
// seed, in one table: `elab eval`'s flags and the keys of a study's [[evaluate]] (and a
// fine-tuning block's `evaluate`) are made from it, and an evaluation job's key carries
// the settings it was given (EvalJobSpec::settings), only when there are any, so the keys
// of studies that give none stay what they were. Values are text as on the command line;
// a yes/no setting is "true" or "false" (a flag without a value on the command line).
// Torch-free.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "eval/evaluate.h"

namespace elab {

struct EvalSetting {
  std::string key;  // study-file key, snake_case; the flag is "--" and the key with '-'
  std::string help;
  bool yes_no = false;  // "true" / "false"; on the command line a flag without a value
  std::function<void(EvalSpec&, const std::string& text, const std::string& what)> set;
  std::string flag() const;
};

const std::vector<EvalSetting>& eval_settings();
const EvalSetting* find_eval_setting(const std::string& key);  // nullptr when unknown

// Sets each key = text on `spec`; an unknown key or a value that does not read is an
// Error naming `where`, the key and the valid ones.
void apply_eval_settings(EvalSpec& spec, const std::map<std::string, std::string>& settings, const std::string& where);

}  // namespace elab
