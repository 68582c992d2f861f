// elab eval: one method on one task split, scored with a 95% CI.
#include <fmt/format.h>

#include "cli/app.h"
#include "cli/common.h"
#include "study/jobs.h"
#include "core/error.h"
#include "core/progress.h"
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
  cmd->add_option("--method", job->spec.method, "prompting method (elab methods list)")->capture_default_str();
  auto n_text = std::make_shared<std::string>("");
  auto extract_text = std::make_shared<std::string>("strict");
  cmd->add_option("-n", *n_text,
                  "test items, or 'all' (default: the whole test set of a file task such as gsm8k or bbh:*, "
                  "the lines a replay file covers, else 200)");
  cmd->add_option("--extract", *extract_text,
                  "answer extraction: strict (the task's published rule) or lenient (fallback guesses; reported "
                  "as such, beside the strict accuracy)")
      ->capture_default_str();
  cmd->add_option("--seed", job->spec.seed, "seed for test items and exemplars")->capture_default_str();
  cmd->add_option("--batch", job->spec.batch_size, "prompts decoded together")->capture_default_str();
  cmd->add_option("--max-new-tokens", job->spec.max_new_tokens, "generation limit (0 = the method's default)")
      ->capture_default_str();
  cmd->add_flag("--per-item-exemplars", job->spec.per_item_exemplars, "draw fresh exemplars for every test item");
  cmd->add_flag("--skip-bad", job->skip_bad, "skip malformed lines of JSONL task files (and report how many)");
  cmd->add_option("--json", job->json_path, "write the summary object here (- for stdout)");
  cmd->add_option("--samples", job->samples_path, "write one JSON line per test item here (- for stdout)");
  auto no_cache = std::make_shared<bool>(false);
  job->backend.cache_path = default_cache_path();
  cmd->add_option("--concurrency", job->backend.concurrency, "openai: requests in flight")->capture_default_str();
  cmd->add_option("--timeout", job->backend.timeout_seconds, "openai: seconds per request")->capture_default_str();
  cmd->add_option("--retries", job->backend.max_retries, "openai: retries on 429/5xx/timeouts (exponential back-off)")
      ->capture_default_str();
  cmd->add_flag("--chat", job->backend.chat, "openai: use /chat/completions (one user message per prompt)");
  cmd->add_option("--cache", job->backend.cache_path, "openai: SQLite cache of responses")->capture_default_str();
  cmd->add_flag("--no-cache", *no_cache, "openai: do not read or write the response cache");
  add_machine_flags(*cmd, *machine);
  add_worker_flag(*cmd, *machine);
  cmd->callback([job, machine, no_cache, n_text, extract_text] {
    if (!n_text->empty()) job->spec.n = parse_item_count(*n_text, "-n");
    job->spec.extraction = parse_extraction(*extract_text);
    job->backend.workers = apply_machine_options(*machine).workers;
    job->device = machine->device;
    if (*no_cache) job->backend.cache_path.clear();
    auto r = run_eval_job(*job);
    print_eval_line(r.summary);
  });

  auto* methods = app.add_subcommand("methods", "Prompting methods");
  methods->require_subcommand(1);
  methods->add_subcommand("list", "One method a line: grammar and meaning")->callback([] {
    for (const auto& m : method_registry()) fmt::print("{:<44} {}\n", m.grammar, m.description);
  });

  auto c = std::make_shared<CompareOptions>();
  auto* compare = app.add_subcommand("compare", "Paired comparison of two eval --json results on the same items");
  compare->add_option("a", c->a, "first result (eval --json)")->required();
  compare->add_option("b", c->b, "second result (eval --json)")->required();
  compare->add_option("--seed", c->seed, "bootstrap seed")->capture_default_str();
  compare->callback([c] {
    auto a = read_json_file(c->a), b = read_json_file(c->b);
    for (const auto* j : {&a, &b})
      check(j->contains("item_correct") && (*j)["item_correct"].is_array(),
            "{}: no per-item results ('item_correct'); write it with a current `elab eval --json`",
            j == &a ? c->a : c->b);
    check(a.value("items_hash", "") == b.value("items_hash", ""),
          "{} and {} were evaluated on different items (task, split, n or seed differ); a paired comparison needs "
          "the same items", c->a, c->b);
    auto xs = a["item_correct"].get<std::vector<double>>(), ys = b["item_correct"].get<std::vector<double>>();
    auto d = paired_bootstrap(xs, ys, c->seed);
    fmt::print("{} {} vs {}: {:+.3f} [{:+.3f}, {:+.3f}] (paired bootstrap 95% CI, n={}): {}\n",
               a.value("task", "?"), a.value("method", "?"), b.value("method", "?"), d.diff, d.lo, d.hi, xs.size(),
               d.resolved() ? (d.diff > 0 ? "the first is better" : "the second is better") : "no difference resolved");
  });
}

}  // namespace elab
