// elab tasks list | show TASK | sample TASK, and elab recipes list | show NAME.
#include <fmt/format.h>

#include "cli/app.h"
#include "core/error.h"
#include "core/rng.h"
#include "tasks/file_task.h"
#include "tasks/format.h"
#include "tasks/recipe.h"
#include "tasks/registry.h"

namespace elab {

namespace {

struct SampleOptions {
  std::string task;
  std::string split;  // "" = the task's default
  std::string format = "direct";
  std::string pool = "test";
  int64_t n = 3;
  uint64_t seed = 1;
  bool skip_bad = false;
};

const char* kind_name(AnswerKind k) {
  switch (k) {
    case AnswerKind::number: return "number";
    case AnswerKind::choice: return "choice";
    case AnswerKind::boolean: return "yes/no";
    case AnswerKind::text: return "text";
    case AnswerKind::sequence: return "sequence";
  }
  return "?";
}

}  // namespace

void add_tasks_command(CLI::App& app) {
  auto* tasks = app.add_subcommand("tasks", "The task suite");
  tasks->require_subcommand(1);
  tasks->add_subcommand("list", "One task a line: name, splits, formats")->callback([] {
    for (const auto& e : task_registry()) {
      if (e.from_files) {
        fmt::print("{:<11} splits: {:<32} formats: {:<30} {}\n", e.usage, "test", "direct, cot", e.summary);
        continue;
      }
      auto t = e.make("");
      auto sample = t->example(t->default_split(), Pool::train, 1, 0);
      fmt::print("{:<11} splits: {:<32} formats: {:<30} {}\n", e.name, fmt::format("{}", fmt::join(t->split_names(), ", ")),
                 fmt::format("{}", fmt::join(formats_of(*t, sample), ", ")), e.summary);
    }
    auto bbh = bbh_subtasks();
    if (!bbh.empty()) fmt::print("bbh subtasks ({}): {}\n", bbh.size(), fmt::join(bbh, " "));
    fmt::print("held out of every built-in recipe: {}\n", fmt::join(held_out_tasks(), ", "));
  });

  auto name = std::make_shared<std::string>();
  auto* show = tasks->add_subcommand("show", "A task's description, answer kind and splits");
  show->add_option("task", *name, "task spec, e.g. add, add:digits=2, bbh:navigate")->required();
  show->callback([name] {
    auto t = make_task(*name);
    fmt::print("{}: {}\nanswer kind: {}\ninstruction: {}\n", t->name(), t->description(), kind_name(t->answer_kind()),
               t->instruction());
    for (const auto& s : t->splits()) fmt::print("  split {:<13} {}\n", s.name, s.description);
  });

  auto o = std::make_shared<SampleOptions>();
  auto* sample = tasks->add_subcommand("sample", "Print examples of a task as they are rendered for the model");
  sample->add_option("task", o->task, "task spec")->required();
  sample->add_option("--split", o->split, "split (default: id, or test for file tasks)");
  sample->add_option("--format", o->format, "direct, cot, code, instruct or reverse")->capture_default_str();
  sample->add_option("--pool", o->pool, "train, exemplar or test")->capture_default_str();
  sample->add_option("-n", o->n, "examples")->capture_default_str();
  sample->add_option("--seed", o->seed, "seed")->capture_default_str();
  sample->add_flag("--skip-bad", o->skip_bad, "skip malformed lines of JSONL task files");
  sample->callback([o] {
    set_skip_bad_lines(o->skip_bad);
    auto t = make_task(o->task);
    std::string split = o->split.empty() ? t->default_split() : o->split;
    t->check_split(split);
    Format f = parse_format(o->format);
    Pool pool = parse_pool(o->pool);
    check(o->n > 0, "-n must be positive, got {}", o->n);
    for (int64_t i = 0; i < o->n; ++i)
      fmt::print("{}{}", render_example(t->example(split, pool, o->seed, i), f, t->instruction()), kExampleSeparator);
  });

  auto* recipes = app.add_subcommand("recipes", "Pre-training data recipes");
  recipes->require_subcommand(1);
  recipes->add_subcommand("list", "One recipe a line")->callback([] {
    for (const auto& r : builtin_recipes()) fmt::print("{:<10} {}\n", r.name, r.description);
    fmt::print("{:<10} {}\n", "task:T[@F]", "any single task T in format F, bursty");
    fmt::print("{:<10} {}\n", "FILE.toml", "a recipe file (docs/TASKS.md)");
  });
  auto recipe_name = std::make_shared<std::string>();
  auto* rshow = recipes->add_subcommand("show", "A recipe's tasks, formats and weights");
  rshow->add_option("name", *recipe_name, "recipe name or file")->required();
  rshow->callback([recipe_name] {
    Recipe r = find_recipe(*recipe_name);
    fmt::print("{}: {}\nstyle: {}, loss: {}\n", r.name, r.description, r.bursty ? "bursty" : "single",
               r.answer_only_loss ? "answer" : "all");
    for (const auto& e : r.entries) fmt::print("  {:<14} {:<9} weight {:.3g}\n", e.task, format_name(e.format), e.weight);
  });
}

}  // namespace elab
