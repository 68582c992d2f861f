#pragma once
// Every task by name, in one table (registry.cpp). A task spec is NAME or NAME:ARGS,
// e.g. "add", "add:digits=2", "bbh:date_understanding", "jsonl:/path/file.jsonl".
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace elab {

struct TaskEntry {
  std::string name;
  std::string usage;     // "add[:digits=D,templates=T]", "bbh:<subtask>"
  std::string summary;
  bool from_files;       // needs data files (or a path) to be built
  std::function<std::unique_ptr<Task>(const std::string& args)> make;
};

const std::vector<TaskEntry>& task_registry();
std::unique_ptr<Task> make_task(const std::string& spec);  // unknown name: Error listing the valid ones
// Adds a task at run time (tests, plug-ins); an Error when the name exists.
void register_task(TaskEntry entry);

// A task group names several tasks evaluated together and macro-averaged ("bbh:all":
// every BBH subtask). Its member specs; empty when `spec` is not a group; an Error when
// a group's data is missing.
std::vector<std::string> task_group(const std::string& spec);

// The BBH subtasks present in the data folder (empty when it is absent).
std::vector<std::string> bbh_subtasks();

}  // namespace elab
