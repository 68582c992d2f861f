#include "train/finetune_settings.h"

#include <fmt/format.h>

#include <type_traits>

#include "core/error.h"
#include "core/names.h"
#include "core/settings.h"

namespace elab {

namespace {

// A setting of the field `at` returns: an integer, or a number (shown as %g).
template <typename T, typename At>
FinetuneSetting setting(const std::string& key, const std::string& help, At at) {
  return {key, help,
          [key, at](FinetuneConfig& c, const std::string& text, const std::string& where) {
            const std::string what = where + ": " + key;
            if constexpr (std::is_integral_v<T>)
              at(c) = T(parse_integer_setting(text, what));
            else
              at(c) = parse_number_setting(text, what);
          },
          [at](const FinetuneConfig& c) {
            const T v = at(const_cast<FinetuneConfig&>(c));
            return std::is_integral_v<T> ? fmt::format("{}", v) : fmt::format("{:g}", double(v));
          }};
}

}  // namespace

std::string FinetuneSetting::flag() const { return flag_of_key(key); }

const std::vector<FinetuneSetting>& finetune_settings() {
  static const std::vector<FinetuneSetting> table = [] {
    std::vector<std::string> lrs;
    for (const auto& m : finetune_method_registry()) lrs.push_back(fmt::format("{} {:g}", m.name, m.default_lr));
    using C = FinetuneConfig;
    return std::vector<FinetuneSetting>{
        setting<int64_t>("steps", "at most this many optimiser steps", [](C& c) -> auto& { return c.steps; }),
        setting<int64_t>("batch", "examples per step (at most the training examples)",
                         [](C& c) -> auto& { return c.batch_size; }),
        setting<double>("lr", fmt::format("peak learning rate (0 = the method's default: {})", fmt::join(lrs, ", ")),
                        [](C& c) -> auto& { return c.lr; }),
        setting<int64_t>("warmup", "linear warm-up steps (at most a quarter of the steps)",
                         [](C& c) -> auto& { return c.warmup_steps; }),
        setting<int64_t>("folds", "cross-validation folds within the N that choose the steps (1 = none: the steps on all N)",
                         [](C& c) -> auto& { return c.folds; }),
        setting<int64_t>("lr_search",
                         "with folds > 1, learning rates searched with the steps: this many a half-decade apart, centred on "
                         "lr (1 = lr as given)",
                         [](C& c) -> auto& { return c.lr_search; }),
        setting<int64_t>("train_shots",
                         "each training row a k-shot prompt: this many other training examples, then the example, the loss on "
                         "its answer (Bornschein et al. 2025; 0 = the example alone)",
                         [](C& c) -> auto& { return c.train_shots; }),
        setting<int64_t>("eval_every", "held-out loss of each fold every N steps", [](C& c) -> auto& { return c.eval_every; }),
        setting<int64_t>("patience", "a fold stops after this many held-out evaluations without improvement",
                         [](C& c) -> auto& { return c.patience; }),
        setting<double>("weight_decay", "AdamW weight decay on matrices", [](C& c) -> auto& { return c.weight_decay; }),
        setting<double>("grad_clip", "gradient norm clip (0 = none)", [](C& c) -> auto& { return c.grad_clip; }),
        setting<int64_t>("rank", "LoRA rank r", [](C& c) -> auto& { return c.lora.rank; }),
        setting<double>("alpha", "LoRA alpha (scale = alpha / r)", [](C& c) -> auto& { return c.lora.alpha; }),
        setting<double>("lora_dropout", "dropout on the LoRA input", [](C& c) -> auto& { return c.lora.dropout; }),
        setting<int64_t>("prefix_length", "prefix-tuning: L key/value positions per layer",
                         [](C& c) -> auto& { return c.prefix.length; }),
        setting<int64_t>("prefix_hidden", "width of the reparameterisation MLP (0 = 2 x d_model)",
                         [](C& c) -> auto& { return c.prefix.hidden; }),
    };
  }();
  return table;
}

const FinetuneSetting* find_finetune_setting(const std::string& key) {
  for (const auto& s : finetune_settings())
    if (s.key == key) return &s;
  return nullptr;
}

void apply_finetune_settings(FinetuneConfig& config, const std::map<std::string, std::string>& settings,
                             const std::string& where) {
  for (const auto& [key, text] : settings) {
    const FinetuneSetting* s = find_finetune_setting(key);
    if (!s) {
      std::vector<std::string> keys;
      for (const auto& x : finetune_settings()) keys.push_back(x.key);
      fail_unknown(where + ": fine-tuning setting", key, keys);
    }
    s->set(config, text, where);
  }
}

}  // namespace elab
