// elab eval: one method on one task split, scored with a 95% CI.
#include <fmt/format.h>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/jobs.h"
#include "core/progress.h"

namespace elab {

void print_eval_line(const nlohmann::ordered_json& s) {
  fmt::print("{} {} {}: accuracy {:.3f} [{:.3f}, {:.3f}] n={} extract_fail {:.3f} ({:.1f}s)\n",
             s["task"].get<std::string>(), s["split"].get<std::string>(), s["method"].get<std::string>(),
             s["accuracy"].get<double>(), s["ci95"][0].get<double>(), s["ci95"][1].get<double>(), s["n"].get<int64_t>(),
             s["metrics"]["extract_fail"].get<double>(), s["metrics"]["seconds"].get<double>());
}

void add_eval_command(CLI::App& app) {
  auto job = std::make_shared<EvalJob>();
  auto machine = std::make_shared<MachineOptions>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a model with a prompting method on a task split");
  cmd->add_option("--model", job->model, "checkpoint directory")->required();
  cmd->add_option("--task", job->task, "task (elab tasks list)")->required();
  cmd->add_option("--split", job->spec.split, "split of the task (default: id, or test for file tasks)");
  cmd->add_option("--method", job->spec.method, "prompting method (direct, icl:K, cot:K)")->capture_default_str();
  cmd->add_option("-n", job->spec.n, "test items")->capture_default_str();
  cmd->add_option("--seed", job->spec.seed, "seed for test items and exemplars")->capture_default_str();
  cmd->add_option("--batch", job->spec.batch_size, "prompts decoded together")->capture_default_str();
  cmd->add_option("--max-new-tokens", job->spec.max_new_tokens, "generation limit (0 = the method's default)")
      ->capture_default_str();
  cmd->add_flag("--skip-bad", job->skip_bad, "skip malformed lines of JSONL task files (and report how many)");
  cmd->add_option("--json", job->json_path, "write the summary object here");
  cmd->add_option("--samples", job->samples_path, "write one JSON line per test item here");
  add_machine_flags(*cmd, *machine);
  cmd->callback([job, machine] {
    apply_machine_options(*machine);
    job->device = machine->device;
    auto r = run_eval_job(*job);
    print_eval_line(r.summary);
  });
}

}  // namespace elab
