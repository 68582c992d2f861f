// prefix: trained key/value prefixes for every layer from a small encoder (Li & Liang
// 2021) on a frozen base; the result is an adapter directory in PEFT's layout.
#include "core/error.h"
#include "core/rng.h"
#include "train/finetune.h"

namespace elab {

FinetuneMethod prefix_finetune_method() {
  FinetuneMethod m;
  m.name = "prefix";
  m.description = "prefix-tuning: L trained positions per layer from an MLP encoder (--prefix-length)";
  m.default_lr = 1e-4;  // the lowest 4-fold held-out loss of bench/finetune-lr.sh (docs/FINETUNING.md)
  m.validate = [](const FinetuneConfig& c) {
    check(c.prefix.length > 0, "--prefix-length must be positive, got {}", c.prefix.length);
  };
  m.check_base = [](const FinetuneConfig& c, const ModelConfig& base) {
    check(c.prefix.length < base.max_seq_len, "--prefix-length {} is beyond the model's context of {}", c.prefix.length,
          base.max_seq_len);
  };
  m.settings = [](const FinetuneConfig& c) {
    return nlohmann::json{{"prefix", {{"length", c.prefix.length}, {"hidden", c.prefix.hidden}}}};
  };
  m.attach = [](Transformer& model, const FinetuneConfig& c) {
    attach_prefix_encoder(model, c.prefix, derive_seed(c.seed, "prefix-init"));
  };
  m.threads_to_products = true;
  m.adapter_config = [](const FinetuneConfig& c, const ModelConfig& base) {
    return nlohmann::json{{"peft_type", "PREFIX_TUNING"},
                          {"task_type", "CAUSAL_LM"},
                          {"num_virtual_tokens", c.prefix.length},
                          {"num_layers", base.n_layers},
                          {"prefix_projection", true},
                          {"encoder_hidden_size", c.prefix.hidden > 0 ? c.prefix.hidden : 2 * base.d_model}};
  };
  return m;
}

}  // namespace elab
