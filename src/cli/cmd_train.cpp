// elab train: pre-train a preset on a recipe.
#include <fmt/format.h>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/launch.h"
#include "study/jobs.h"
#include "core/progress.h"

namespace elab {

void add_train_command(CLI::App& app) {
  auto job = std::make_shared<TrainJob>();
  auto machine = std::make_shared<MachineOptions>();
  auto nproc = std::make_shared<int>(1);
  auto* cmd = app.add_subcommand("train", "Pre-train a model preset on a data recipe");
  cmd->add_option("--preset", job->preset, "model preset (elab models list)")->required();
  cmd->add_option("--recipe", job->recipe, "data recipe (elab recipes list, or task:TASK[@FORMAT])")->required();
  cmd->add_option("--tokens", job->tokens, "training tokens (steps = tokens / (batch x seq-len))")->required();
  cmd->add_option("--out", job->out, "checkpoint directory")->required();
  cmd->add_option("--seed", job->seed, "seed for init and data order")->capture_default_str();
  cmd->add_flag("--resume", job->resume, "continue the checkpoint in --out (same flags as the first run)");
  cmd->add_option("--batch", job->batch_size, "sequences per step")->capture_default_str();
  cmd->add_option("--seq-len", job->seq_len, "tokens per sequence")->capture_default_str();
  cmd->add_option("--grad-accum", job->grad_accum, "micro-batches per step")->capture_default_str();
  cmd->add_option("--lr", job->lr, "peak learning rate (0 = the preset's)")->capture_default_str();
  cmd->add_option("--warmup", job->warmup_steps, "warm-up steps (-1 = 5% of steps, at most 200)")->capture_default_str();
  cmd->add_option("--eval-every", job->eval_every, "held-out loss every N steps (0 = 20 times per run)")
      ->capture_default_str();
  cmd->add_option("--stop-after", job->stop_after, "checkpoint and stop after step N, as if interrupted (0 = off)")
      ->capture_default_str();
  cmd->add_option("--loss", job->loss, "tokens in the loss: all, or answer (targets after \"A:\")")
      ->capture_default_str();
  cmd->add_flag("--keep-optimizer", job->keep_optimizer, "keep optimizer state in the final checkpoint");
  add_training_flags(*cmd, job->precision, *nproc, job->dist, *machine);
  cmd->callback([job, machine, nproc] {
    if (launch_local_ranks(*nproc, job->dist)) return;
    job->workers = apply_machine_options(*machine).workers;
    job->device = machine->device;
    TrainResult r = run_train_job(*job);
    if (!r.main_rank) return;
    fmt::print("{} {}: step {}, {} tokens, train loss {:.4f}, held-out loss {:.4f}, {} ({} tok/s) -> {}\n",
               r.complete ? "trained" : "stopped", job->preset, r.steps_done, human_count(double(r.tokens_seen)),
               r.train_loss, r.heldout_loss, human_duration(r.seconds), human_count(r.tokens_per_second), job->out);
  });
}

}  // namespace elab
