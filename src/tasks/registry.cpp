#include "tasks/registry.h"

#include "core/error.h"
#include "core/names.h"

namespace elab {

std::unique_ptr<Task> make_add_task(const std::string& args);

const std::vector<TaskEntry>& task_registry() {
  static const std::vector<TaskEntry> entries = {
      {"add", "a + b over integers; CoT adds digit by digit with carries", make_add_task},
  };
  return entries;
}

std::unique_ptr<Task> make_task(const std::string& spec) {
  auto colon = spec.find(':');
  std::string name = spec.substr(0, colon), args = colon == std::string::npos ? "" : spec.substr(colon + 1);
  std::vector<std::string> names;
  for (const auto& e : task_registry()) {
    if (e.name == name) return e.make(args);
    names.push_back(e.name);
  }
  fail_unknown("task", name, names);
}

std::map<std::string, std::string> parse_task_args(const std::string& task, const std::string& args,
                                                   const std::vector<std::string>& known) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < args.size()) {
    size_t end = args.find(',', pos);
    if (end == std::string::npos) end = args.size();
    std::string item = args.substr(pos, end - pos);
    auto eq = item.find('=');
    check(eq != std::string::npos && eq > 0, "task {}: option '{}' is not of the form key=value", task, item);
    std::string key = item.substr(0, eq);
    if (std::find(known.begin(), known.end(), key) == known.end()) fail_unknown("option of task " + task, key, known);
    out[key] = item.substr(eq + 1);
    pos = end + 1;
  }
  return out;
}

}  // namespace elab
