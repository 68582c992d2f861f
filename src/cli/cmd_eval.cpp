// elab eval: one method on one task split, scored with a 95% CI.
#include <fmt/format.h>

#include "cli/app.h"
#include "cli/common.h"
#include "study/stages.h"
#include "core/error.h"
#include "core/progress.h"
#include "eval/eval_settings.h"
#include "eval/method.h"
#include "eval/stats.h"
#include "model/checkpoint.h"

namespace elab {


struct CompareOptions {
  std::string a, b;
  uint64_t seed = 1;
};

void add_eval_command(CLI::App& app) {
  auto job = std::make_shared<EvalJob>();
  auto machine = std::make_shared<MachineOptions>(generation_machine_defaults());
  auto* cmd = app.add_subcommand("eval", "Evaluate a model with a prompting method on a task split");
  cmd->add_option("--model", job->model,
                  "checkpoint or adapter directory, openai:URL#MODEL (an OpenAI-compatible server), or "
                  "replay:FILE (recorded predictions)")
      ->required();
  cmd->add_option("--task", job->task, "task (elab tasks list)")->required();
  cmd->add_option("--split", job->spec.split, "split of the task (default: id, or test for file tasks)");
  cmd->add_option("--method", job->spec.method, "prompting method (elab methods list; chat:METHOD in the model's chat template)")->capture_default_str();
  auto n_text = std::make_shared<std::string>("");
  auto extract_text = std::make_shared<std::string>("strict");
  cmd->add_option("-n", *n_text,
                  "test items, or 'all' (default: the whole test set of a file task such as gsm8k or bbh:*, "
                  "the lines a replay file covers, else 200)");
  cmd->add_option("--extract", *extract_text,
                  "answer extraction: strict (the task's published rule), lenient (fallback guesses) or flexible "
                  "(lm-evaluation-harness's flexible-extract: the last number or option); the strict and flexible "
                  "accuracies are always reported beside the chosen one")
      ->capture_default_str();
  cmd->add_option("--seed", job->spec.seed, "seed for test items and exemplars")->capture_default_str();
  cmd->add_option("--batch", job->spec.batch_size, "prompts decoded together")->capture_default_str();
  // The settings of eval/eval_settings.h, one flag each (a study's [[evaluate]] keys).
  auto settings = std::make_shared<std::map<std::string, std::string>>();
  for (const auto& setting : eval_settings()) {
    if (setting.yes_no)
      cmd->add_flag_callback(setting.flag(), [settings, &setting] { (*settings)[setting.key] = "true"; }, setting.help);
    else
      cmd->add_option_function<std::string>(
          setting.flag(), [settings, &setting](const std::string& v) { (*settings)[setting.key] = v; }, setting.help);
  }
  cmd->add_flag("--skip-bad", job->skip_bad, "skip malformed lines of JSONL task files (and report how many)");
  cmd->add_option("--json", job->json_path, "write the summary object here (- for stdout)");
  cmd->add_option("--samples", job->samples_path, "write one JSON line per test item here (- for stdout)");
  // The backend's own options: --model-args, and the openai ones as flags of their own.
  auto args_text = std::make_shared<std::string>();
  auto flags = std::make_shared<BackendArgs>();
  cmd->add_option("--model-args", *args_text,
                  "the backend's options as key=value,... (elab backends list shows each backend's keys)");
  auto set = [flags](const char* key) { return [flags, key](const std::string& v) { (*flags)[key] = v; }; };
  cmd->add_option_function<std::string>("--concurrency", set("concurrency"), "openai: requests in flight (8)");
  cmd->add_option_function<std::string>("--timeout", set("timeout"), "openai: seconds per request (120)");
  cmd->add_option_function<std::string>("--retries", set("retries"),
                                        "openai: retries on 429/5xx/timeouts, exponential back-off (6)");
  cmd->add_flag_callback("--chat", [flags] { (*flags)["chat"] = "true"; },
                         "openai: use /chat/completions (one user message per prompt)");
  cmd->add_option_function<std::string>("--cache", set("cache"),
                                        "openai: SQLite cache of responses (" + default_cache_path() + ")");
  cmd->add_flag_callback("--no-cache", [flags] { (*flags)["cache"] = ""; },
                         "openai: do not read or write the response cache");
  add_machine_flags(*cmd, *machine);
  add_worker_flag(*cmd, *machine);
  cmd->callback([job, machine, args_text, flags, n_text, extract_text, settings] {
    if (!n_text->empty()) job->spec.n = parse_item_count(*n_text, "-n");
    apply_eval_settings(job->spec, *settings, "");
    job->spec.extraction = parse_extraction(*extract_text);
    job->workers = apply_machine_options(*machine).workers;
    job->device = machine->device;
    job->backend = parse_backend_args(*args_text);
    for (const auto& [k, v] : *flags) {
      check(!job->backend.count(k), "--model-args and --{} both set the backend option {}", k, k);
      job->backend[k] = v;
    }
    job->on_member = [](const EvalSummary& s) {
      print_eval_notes(s);
      print_eval_line(s);
    };
    auto r = run_eval_job(*job);
    print_eval_notes(r.summary);
    print_eval_line(r.summary);
  });

  auto* methods = app.add_subcommand("methods", "Prompting methods");
  methods->require_subcommand(1);
  methods->add_subcommand("list", "One method a line: grammar and meaning")->callback([] {
    for (const auto& m : method_registry()) fmt::print("{:<44} {}\n", m.grammar, m.description);
    fmt::print("{:<44} {}\n", "chat:METHOD",
               "any method above, its prompt in the model's chat template (ChatML, Gemma): exemplars as user and "
               "assistant turns");
  });

  auto* backends = app.add_subcommand("backends", "Model sources --model takes, and the options each reads");
  backends->require_subcommand(1);
  backends->add_subcommand("list", "One backend a line, then its --model-args keys")->callback([] {
    for (const auto& b : backend_registry()) {
      fmt::print("{:<20} {}{}\n", b.usage, b.description, b.cannot_train.empty() ? "" : " (evaluation only)");
      for (const auto& [key, meaning] : b.options) fmt::print("    {:<16} {}\n", key, meaning);
    }
  });

  auto c = std::make_shared<CompareOptions>();
  auto* compare = app.add_subcommand("compare", "Paired comparison of two eval --json results on the same items");
  compare->add_option("a", c->a, "first result (eval --json)")->required();
  compare->add_option("b", c->b, "second result (eval --json)")->required();
  compare->add_option("--seed", c->seed, "bootstrap seed")->capture_default_str();
  compare->callback([c] {
    const EvalSummary a = eval_summary_from_json(read_json_file(c->a), c->a);
    const EvalSummary b = eval_summary_from_json(read_json_file(c->b), c->b);
    for (const auto* s : {&a, &b})
      check(!s->item_correct.empty(), "{}: no per-item results ('item_correct'); write it with a current `elab eval --json`",
            s == &a ? c->a : c->b);
    check(a.items_hash == b.items_hash,
          "{} and {} were evaluated on different items (task, split, n or seed differ); a paired comparison needs "
          "the same items", c->a, c->b);
    const std::vector<double> xs(a.item_correct.begin(), a.item_correct.end()), ys(b.item_correct.begin(), b.item_correct.end());
    auto d = paired_bootstrap(xs, ys, c->seed);
    fmt::print("{} {} vs {}: {:+.3f} [{:+.3f}, {:+.3f}] (paired bootstrap 95% CI, n={}): {}\n",
               a.task, a.method, b.method, d.diff, d.lo, d.hi, xs.size(),
               d.resolved() ? (d.diff > 0 ? "the first is better" : "the second is better") : "no difference resolved");
  });
}

}  // namespace elab
