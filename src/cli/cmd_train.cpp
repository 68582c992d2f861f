// elab train: pre-train a model (a preset, a config.json or any shape) on a recipe. The
// optimiser, schedule, data regime, evaluations and snapshots are the flags of
// study/pretrain_settings.h's table, the keys a study's [pretrain] takes.
#include <fmt/format.h>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/launch.h"
#include "study/pretrain_settings.h"
#include "study/stages.h"
#include "core/error.h"
#include "core/progress.h"

namespace elab {

void add_train_command(CLI::App& app) {
  auto job = std::make_shared<TrainJob>();
  auto machine = std::make_shared<MachineOptions>();
  auto nproc = std::make_shared<int>(1);
  auto batch = std::make_shared<std::string>("32");
  auto* cmd = app.add_subcommand("train", "Pre-train a model (a preset or any shape) on a data recipe");
  add_model_shape_flags(*cmd, job->shape);
  cmd->add_option("--recipe", job->recipe, "data recipe (elab recipes list, or task:TASK[@FORMAT])")->required();
  cmd->add_option("--tokens", job->tokens, "training tokens (steps = tokens / (batch x seq-len))");
  cmd->add_option("--out", job->out, "checkpoint directory")->required();
  cmd->add_option("--seed", job->seed, "seed for init and data order")->capture_default_str();
  cmd->add_flag("--resume", job->resume, "continue the checkpoint in --out (same flags as the first run)");
  cmd->add_option("--batch", *batch, "sequences per step, or all (the whole fixed training set: full-batch)")
      ->capture_default_str();
  cmd->add_option("--seq-len", job->seq_len, "tokens per sequence (a fixed training set: its longest example)")
      ->capture_default_str();
  cmd->add_option("--grad-accum", job->grad_accum, "micro-batches per step")->capture_default_str();
  cmd->add_option("--lr", job->lr, "peak learning rate (0 = the preset's)")->capture_default_str();
  cmd->add_option("--stop-after", job->stop_after, "checkpoint and stop after step N, as if interrupted (0 = off)")
      ->capture_default_str();
  cmd->add_option_function<std::string>(
      "--loss", [job](const std::string& v) { job->loss = parse_loss_tokens(v); },
      "tokens in the loss: all (default), or answer (targets after \"A:\")");
  cmd->add_flag("--keep-optimizer", job->keep_optimizer, "keep optimizer state in the final checkpoint");
  // The settings of study/pretrain_settings.h, one flag each, set after parsing.
  auto settings = std::make_shared<nlohmann::json>(nlohmann::json::object());
  for (const auto& setting : pretrain_settings()) {
    const bool list = setting.type == SettingType::texts || setting.type == SettingType::integers;
    auto* option = cmd->add_option_function<std::vector<std::string>>(
        setting.flag,
        [settings, &setting](const std::vector<std::string>& words) {
          (*settings)[setting.key] = pretrain_setting_from_words(setting, words, setting.flag);
        },
        setting.help);
    static const char* type_names[] = {"TEXT", "NUMBER", "INT", "TEXT", "INT"};
    option->type_name(type_names[int(setting.type)]);
    if (setting.type == SettingType::integers) option->delimiter(',');
    if (!list) option->expected(1);
  }
  cmd->add_option("--save-every", job->save_every, "keep a snapshot every N steps (0 = off)")->capture_default_str();
  add_training_flags(*cmd, job->precision, *nproc, job->dist, *machine);
  cmd->callback([job, machine, nproc, batch, settings] {
    job->batch_size = *batch == "all" ? kBatchAll : parse_positive(*batch, "--batch");
    apply_pretrain_settings(*job, *settings);
    if (launch_local_ranks(*nproc, job->dist)) return;
    job->workers = apply_machine_options(*machine).workers;
    job->device = machine->device;
    TrainResult r = run_train_job(*job);
    if (!r.main_rank) return;
    fmt::print("{} {}: step {}, {} tokens, train loss {:.4f}, held-out loss {:.4f}, {} ({} tok/s) -> {}\n",
               r.complete ? "trained" : "stopped", r.model_name, r.steps_done, human_count(double(r.tokens_seen)),
               r.train_loss, r.heldout_loss, human_duration(r.seconds), human_count(r.tokens_per_second), job->out);
  });
}

}  // namespace elab
