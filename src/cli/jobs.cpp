#include "cli/jobs.h"

#include <iostream>

#include <fmt/format.h>

#include "backends/registry.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/progress.h"
#include "core/rng.h"
#include "model/config.h"
#include "model/device.h"
#include "tasks/file_task.h"
#include "tasks/recipe.h"
#include "tasks/registry.h"

namespace elab {

TrainResult run_train_job(const TrainJob& job) {
  const Preset& preset = find_preset(job.preset);
  Recipe recipe = find_recipe(job.recipe);
  check(job.loss == "all" || job.loss == "answer", "--loss must be 'all' or 'answer', got '{}'", job.loss);
  if (job.loss == "answer") recipe.answer_only_loss = true;
  check(job.tokens > 0, "--tokens must be positive, got {}", job.tokens);
  check(!job.out.empty(), "--out is required");
  check(job.batch_size > 0 && job.seq_len > 0, "--batch and --seq-len must be positive");
  check(job.seq_len + 1 <= preset.config.max_seq_len, "--seq-len {} exceeds preset {}'s context of {}", job.seq_len,
        preset.name, preset.config.max_seq_len);

  TrainConfig cfg;
  cfg.batch_size = job.batch_size;
  cfg.seq_len = job.seq_len;
  cfg.grad_accum = job.grad_accum;
  cfg.steps = (job.tokens + job.batch_size * job.seq_len - 1) / (job.batch_size * job.seq_len);
  cfg.lr = job.lr > 0 ? job.lr : preset.lr;
  cfg.warmup_steps = job.warmup_steps >= 0 ? job.warmup_steps : std::min<int64_t>(200, cfg.steps / 20);
  cfg.eval_every = job.eval_every > 0 ? job.eval_every : std::max<int64_t>(1, cfg.steps / 20);
  cfg.seed = job.seed;
  cfg.stop_after = job.stop_after;
  cfg.keep_optimizer = job.keep_optimizer;

  torch::Device device = parse_device(job.device);
  Transformer model(preset.config, derive_seed(job.seed, "init"));
  model->to(device);
  RecipeStream data(recipe, derive_seed(job.seed, "data"), Pool::train);
  RecipeStream heldout(recipe, derive_seed(job.seed, "heldout"), Pool::exemplar);

  TrainRun run;
  run.out_dir = job.out;
  run.resume = job.resume;
  run.label = fmt::format("train {}", preset.name);
  run.meta = {{"preset", preset.name},     {"recipe", recipe.name}, {"recipe_description", recipe.describe()},
              {"seed", job.seed},          {"parameters", preset.config.param_count()},
              {"train_config", cfg.to_json()}, {"elab_version", "0.1.0"}};
  check_run_dir(run);
  fmt::print(stderr, "train: preset {} ({} parameters), recipe {}, {} steps of {}x{} tokens, lr {:.2g}, seed {}\n",
             preset.name, human_count(double(preset.config.param_count())), recipe.name, cfg.steps, cfg.batch_size,
             cfg.seq_len, cfg.lr, job.seed);
  install_interrupt_handler();
  return train(model, data, heldout, cfg, run);
}

void write_output(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text << std::flush;
    return;
  }
  write_file_atomic(path, text);
}

EvalResult run_eval_job(const EvalJob& job) {
  set_skip_bad_lines(job.skip_bad);
  auto task = make_task(job.task);
  if (!job.spec.split.empty()) task->check_split(job.spec.split);
  parse_method(job.spec.method);  // fail on a bad method before loading a model
  auto backend = make_backend(job.model, job.device);
  auto result = evaluate(*backend, *task, job.task, job.spec);
  // Models may emit bytes that are not UTF-8: JSON gets U+FFFD in their place.
  const auto replace = nlohmann::ordered_json::error_handler_t::replace;
  if (!job.json_path.empty()) write_output(job.json_path, result.summary.dump(2, ' ', false, replace) + "\n");
  if (!job.samples_path.empty()) {
    std::string lines;
    for (const auto& s : result.samples) lines += s.dump(-1, ' ', false, replace) + "\n";
    write_output(job.samples_path, lines);
  }
  return result;
}

}  // namespace elab
