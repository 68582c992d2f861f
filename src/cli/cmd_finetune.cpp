// elab finetune: adapt a base checkpoint to a task on N labelled examples (full, LoRA or
// prefix-tuning); elab export: merge a LoRA adapter into a full checkpoint.
#include <fmt/format.h>

#include <map>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/launch.h"
#include "study/stages.h"
#include "core/error.h"
#include "core/progress.h"
#include "model/adapters.h"
#include "model/device.h"
#include "model/gguf_model.h"
#include "model/model_cache.h"
#include "train/finetune_settings.h"

namespace elab {

void add_finetune_command(CLI::App& app) {
  auto job = std::make_shared<FinetuneJob>();
  auto machine = std::make_shared<MachineOptions>();
  auto nproc = std::make_shared<int>(1);
  FinetuneConfig& c = job->config;
  auto* cmd = app.add_subcommand("finetune", "Fine-tune a base model on N examples of a task (full, LoRA, prefix)");
  cmd->footer(
      "The N examples are the first N of the task's exemplar pool for --seed: the same seed gives icl:K the first K "
      "of them. Model selection uses only those N: --folds K cross-validation within them (fold f holds out every "
      "K-th example, stopping early on its held-out loss) picks the learning rate (--lr-search rates a half-decade "
      "apart) and the number of steps, then a refit on all N runs them; the result answers up to 8 of its own training "
      "prompts, and the share answered in format is recorded (docs/FINETUNING.md, Protocol). A LoRA or prefix "
      "run writes an adapter directory (adapter_config.json, adapter_model.safetensors) that refers to --base by "
      "path and content hash; a full run writes a checkpoint. Any of them is a --model for elab eval.");
  cmd->add_option("--base", job->base, "base checkpoint directory")->required();
  cmd->add_option("--task", job->task, "task (elab tasks list)")->required();
  std::vector<std::string> names;
  for (const auto& m : finetune_method_registry()) names.push_back(m.name + " (" + m.description + ")");
  cmd->add_option("--method", c.method, fmt::format("{}", fmt::join(names, " | ")))->required();
  cmd->add_option("--n-train", job->n_train, "labelled examples N (all are trained on)")->required();
  cmd->add_option("--out", job->out, "output directory")->required();
  cmd->add_option("--seed", c.seed, "seed: which examples, adapter init, example order")->capture_default_str();
  cmd->add_option("--format", job->format, "format of the examples (direct, cot, instruct, ...)")->capture_default_str();
  // --steps, --batch, --lr, --folds, --rank, ...: the one table of fine-tuning settings
  // (train/finetune_settings.h), which a study's [[finetune]] blocks read too.
  auto settings = std::make_shared<std::map<std::string, std::string>>();
  const FinetuneConfig defaults;
  for (const auto& s : finetune_settings())
    cmd->add_option_function<std::string>(
           s.flag(), [settings, key = s.key](const std::string& v) { (*settings)[key] = v; }, s.help)
        ->default_str(s.get(defaults));
  cmd->add_option("--lora-targets", job->lora_targets, "projections to adapt: q,k,v,o,gate,up,down, or all")
      ->capture_default_str();
  cmd->add_flag("--overwrite", job->overwrite, "replace a model already in --out");
  add_training_flags(*cmd, c.precision, *nproc, job->dist, *machine);
  cmd->callback([job, machine, nproc, settings] {
    apply_finetune_settings(job->config, *settings, "elab finetune");
    if (launch_local_ranks(*nproc, job->dist)) return;
    job->config.workers = apply_machine_options(*machine).workers;
    job->device = machine->device;
    enable_model_cache(default_model_cache_bytes());  // the folds and the refit read the base once
    auto r = run_finetune_job(*job);
    if (!r.main_rank) return;
    fmt::print("finetuned {} on {}: N={}, {} steps on all N{}, {} trainable parameters, {} -> {}\n", job->config.method,
               job->task, job->n_train, r.run.steps_done,
               r.folds > 1 ? fmt::format(" (chosen by {}-fold cross-validation: held-out loss {:.4f} -> {:.4f})", r.folds,
                                         r.run.first_val_loss, r.run.best_val_loss)
                           : std::string(" (no selection)"),
               human_count(double(r.run.trainable_parameters)), human_duration(r.run.seconds), job->out);
  });
}

struct ExportOptions {
  std::string model, out, gguf;
  std::string type = "f32";
  bool merge = false;
};

void add_export_command(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  auto* cmd = app.add_subcommand("export", "Write a LoRA adapter merged into its base as a full checkpoint, or any model as a "
                                            "GGUF file llama.cpp runs");
  cmd->add_option("--model", o->model, "adapter directory (--merge), or any model (--gguf)")->required();
  cmd->add_flag("--merge", o->merge, "merge the adapter into the base weights (W += alpha/r * B A)");
  cmd->add_option("--gguf", o->gguf, "write FILE.gguf (architecture llama; a LoRA adapter is merged first)");
  cmd->add_option("--type", o->type, "GGUF matrix type: f32, f16 or q8_0 (norms stay f32)")->capture_default_str();
  cmd->add_option("--out", o->out, "output checkpoint directory (--merge)");
  cmd->callback([o] {
    check(o->merge != !o->gguf.empty(), "export needs exactly one of --merge (with --out) and --gguf FILE");
    if (!o->gguf.empty()) {
      static const std::map<std::string, GgmlType> types = {{"f32", GgmlType::f32}, {"f16", GgmlType::f16}, {"q8_0", GgmlType::q8_0}};
      auto it = types.find(o->type);
      check(it != types.end(), "--type must be f32, f16 or q8_0, got '{}'", o->type);
      Checkpoint ck = load_model_dir(o->model);
      if (adapter_type(o->model) == "lora") merge_lora(ck.model);
      write_file_atomic(o->gguf, encode_checkpoint_gguf(ck, it->second));
      fmt::print("wrote {} ({}, {} parameters)\n", o->gguf, o->type, ck.config.param_count());
      return;
    }
    check(!o->out.empty(), "export --merge needs --out DIR");
    const std::string type = adapter_type(o->model);
    check(!type.empty(), "{} is not an adapter directory (no adapter_config.json); it is already a full checkpoint",
          o->model);
    check(type == "lora", "{}: a {} adapter cannot be merged into the weights; evaluate it as an adapter", o->model, type);
    check(!fs::exists(fs::path(o->out) / "model.safetensors"), "{} already holds a checkpoint; choose another --out",
          o->out);
    Checkpoint ck = load_model_dir(o->model);
    merge_lora(ck.model);
    nlohmann::json meta = ck.meta;
    meta["merged_from"] = fs::absolute(o->model).lexically_normal().string();
    save_checkpoint(o->out, ck.model, meta);
    fmt::print("merged {} into {} -> {}\n", o->model, ck.meta.value("base", std::string("its base")), o->out);
  });
}

}  // namespace elab
