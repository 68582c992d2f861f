// elab train: pre-train a model (a preset, a config.json or any shape) on a recipe, with
// the optimiser, schedule, data regime, evaluations and snapshots given by flags.
#include <fmt/format.h>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/launch.h"
#include "study/stages.h"
#include "core/error.h"
#include "core/progress.h"

namespace elab {

void add_train_command(CLI::App& app) {
  auto job = std::make_shared<TrainJob>();
  auto machine = std::make_shared<MachineOptions>();
  auto nproc = std::make_shared<int>(1);
  auto batch = std::make_shared<std::string>("32");
  auto betas = std::make_shared<std::string>();
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
  cmd->add_option("--warmup", job->warmup_steps, "warm-up steps (-1 = 5% of steps, at most 200)")->capture_default_str();
  cmd->add_option("--eval-every", job->eval_every, "held-out loss every N steps (0 = 20 times per run)")
      ->capture_default_str();
  cmd->add_option("--stop-after", job->stop_after, "checkpoint and stop after step N, as if interrupted (0 = off)")
      ->capture_default_str();
  cmd->add_option_function<std::string>(
      "--loss", [job](const std::string& v) { job->loss = parse_loss_tokens(v); },
      "tokens in the loss: all (default), or answer (targets after \"A:\")");
  cmd->add_flag("--keep-optimizer", job->keep_optimizer, "keep optimizer state in the final checkpoint");
  cmd->add_option("--optimizer", job->optimizer, "adamw, or sgd (momentum, decoupled weight decay)")->capture_default_str();
  cmd->add_option("--weight-decay", job->weight_decay, "decoupled weight decay on matrices (-1 = 0.1)")->capture_default_str();
  cmd->add_option("--betas", *betas, "AdamW's beta1,beta2 (default 0.9,0.95)");
  cmd->add_option("--momentum", job->momentum, "sgd's momentum (-1 = 0.9)")->capture_default_str();
  cmd->add_option("--grad-clip", job->grad_clip, "max gradient norm, 0 = off (-1 = 1.0)")->capture_default_str();
  cmd->add_option("--schedule", job->schedule, "learning rate after warm-up: cosine, linear or constant")
      ->capture_default_str();
  cmd->add_option("--min-lr-ratio", job->min_lr_ratio, "floor of the decay as a fraction of --lr (-1 = 0.1)")
      ->capture_default_str();
  cmd->add_option("--train-examples", job->train_examples,
                  "a fixed training set of N examples of the recipe's task, drawn once (0 = the infinite stream)")
      ->capture_default_str();
  cmd->add_option("--epochs", job->epochs, "passes over the fixed training set (instead of --tokens)")
      ->capture_default_str();
  cmd->add_option("--eval-task", job->eval_tasks,
                  "task accuracy at every --eval-every step: TASK[@SPLIT[@METHOD]] on fixed items (repeatable)");
  cmd->add_option("--eval-n", job->eval_n, "items per --eval-task evaluation")->capture_default_str();
  cmd->add_option("--save-at", job->save_at, "keep snapshots at these steps (100,1000,5000) in OUT/snapshots/")
      ->delimiter(',');
  cmd->add_option("--save-every", job->save_every, "keep a snapshot every N steps (0 = off)")->capture_default_str();
  add_training_flags(*cmd, job->precision, *nproc, job->dist, *machine);
  cmd->callback([job, machine, nproc, batch, betas] {
    job->batch_size = *batch == "all" ? kBatchAll : parse_positive(*batch, "--batch");
    if (!betas->empty()) {
      const size_t comma = betas->find(',');
      check(comma != std::string::npos, "--betas must be beta1,beta2 (e.g. 0.9,0.98), got '{}'", *betas);
      job->beta1 = parse_real(betas->substr(0, comma), "--betas");
      job->beta2 = parse_real(betas->substr(comma + 1), "--betas");
    }
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
