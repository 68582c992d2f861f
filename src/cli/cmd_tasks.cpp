// elab tasks list | show TASK | sample TASK, and elab recipes list.
#include <fmt/format.h>

#include "cli/app.h"
#include "core/error.h"
#include "core/rng.h"
#include "tasks/format.h"
#include "tasks/recipe.h"
#include "tasks/registry.h"

namespace elab {

namespace {

struct SampleOptions {
  std::string task;
  std::string split = "id";
  std::string format = "direct";
  std::string pool = "train";
  int64_t n = 3;
  uint64_t seed = 1;
};

Pool parse_pool(const std::string& name) {
  for (Pool p : {Pool::train, Pool::exemplar, Pool::test})
    if (name == pool_name(p)) return p;
  fail("unknown pool '{}'; valid: train, exemplar, test", name);
}

}  // namespace

void add_tasks_command(CLI::App& app) {
  auto* tasks = app.add_subcommand("tasks", "The task suite");
  tasks->require_subcommand(1);
  tasks->add_subcommand("list", "One task a line: name, splits, formats")->callback([] {
    for (const auto& e : task_registry()) {
      auto t = e.make("");
      fmt::print("{:<10} splits: {:<24} formats: {}  {}\n", e.name, fmt::format("{}", fmt::join(t->split_names(), ", ")),
                 fmt::join(format_names(), ", "), e.summary);
    }
  });

  auto name = std::make_shared<std::string>();
  auto* show = tasks->add_subcommand("show", "A task's description and splits");
  show->add_option("task", *name, "task spec, e.g. add or add:digits=2")->required();
  show->callback([name] {
    auto t = make_task(*name);
    fmt::print("{}: {}\n", t->name(), t->description());
    for (const auto& s : t->splits()) fmt::print("  split {:<12} {}\n", s.name, s.description);
  });

  auto o = std::make_shared<SampleOptions>();
  auto* sample = tasks->add_subcommand("sample", "Print examples of a task as they are rendered for the model");
  sample->add_option("task", o->task, "task spec")->required();
  sample->add_option("--split", o->split, "split")->capture_default_str();
  sample->add_option("--format", o->format, "direct or cot")->capture_default_str();
  sample->add_option("--pool", o->pool, "train, exemplar or test")->capture_default_str();
  sample->add_option("-n", o->n, "examples")->capture_default_str();
  sample->add_option("--seed", o->seed, "seed")->capture_default_str();
  sample->callback([o] {
    auto t = make_task(o->task);
    t->check_split(o->split);
    Format f = parse_format(o->format);
    Pool pool = parse_pool(o->pool);
    check(o->n > 0, "-n must be positive, got {}", o->n);
    for (int64_t i = 0; i < o->n; ++i) fmt::print("{}\n", render_example(t->example(o->split, pool, o->seed, i), f));
  });

  auto* recipes = app.add_subcommand("recipes", "Pre-training data recipes");
  recipes->require_subcommand(1);
  recipes->add_subcommand("list", "One recipe a line")->callback([] {
    for (const auto& r : builtin_recipes()) fmt::print("{:<10} {}\n", r.name, r.description);
    fmt::print("{:<10} {}\n", "task:T[@F]", "any single task T in format F (direct or cot), bursty");
  });
}

}  // namespace elab
