#pragma once
// Every task by name, in one table (registry.cpp). A task spec is NAME or NAME:ARGS,
// e.g. "add" or "add:digits=2"; the factory reads ARGS.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace elab {

struct TaskEntry {
  std::string name;
  std::string summary;
  std::function<std::unique_ptr<Task>(const std::string& args)> make;
};

const std::vector<TaskEntry>& task_registry();
std::unique_ptr<Task> make_task(const std::string& spec);  // unknown name: Error listing the valid ones

// "k=v,k2=v2" -> map; every key must be in `known` (Error naming the task otherwise).
std::map<std::string, std::string> parse_task_args(const std::string& task, const std::string& args,
                                                   const std::vector<std::string>& known);

}  // namespace elab
