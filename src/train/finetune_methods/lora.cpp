// lora: low-rank updates B A of chosen projections (Hu et al. 2021) on a frozen base;
// the result is an adapter directory in PEFT's layout.
#include "core/error.h"
#include "core/rng.h"
#include "train/finetune.h"

namespace elab {

FinetuneMethod lora_finetune_method() {
  FinetuneMethod m;
  m.name = "lora";
  m.description = "rank-r updates of the chosen projections (--rank --alpha --lora-targets)";
  m.default_lr = 3e-4;  // the lowest 4-fold held-out loss of bench/finetune-lr.sh (docs/FINETUNING.md)
  m.validate = [](const FinetuneConfig& c) {
    check(c.lora.rank > 0, "--rank must be positive, got {}", c.lora.rank);
    check(c.lora.alpha > 0, "--alpha must be positive, got {}", c.lora.alpha);
    check(c.lora.dropout >= 0 && c.lora.dropout < 1, "--lora-dropout must be in [0, 1), got {}", c.lora.dropout);
  };
  m.settings = [](const FinetuneConfig& c) {
    return nlohmann::json{
        {"lora", {{"r", c.lora.rank}, {"alpha", c.lora.alpha}, {"dropout", c.lora.dropout}, {"targets", c.lora.targets}}}};
  };
  m.attach = [](Transformer& model, const FinetuneConfig& c) {
    attach_lora(model, c.lora, derive_seed(c.seed, "lora-init"));
  };
  // Dropout draws from the global generator: threads would take its numbers in any order.
  m.batch_workers = [](const FinetuneConfig& c) { return c.lora.dropout > 0 ? int64_t(1) : c.workers; };
  m.adapter_config = [](const FinetuneConfig& c, const ModelConfig&) {
    return nlohmann::json{{"peft_type", "LORA"},       {"task_type", "CAUSAL_LM"},        {"r", c.lora.rank},
                          {"lora_alpha", c.lora.alpha}, {"lora_dropout", c.lora.dropout}, {"target_modules", c.lora.targets},
                          {"bias", "none"}};
  };
  return m;
}

}  // namespace elab
