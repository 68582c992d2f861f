// elab models list: the scale ladder; elab models config: one preset's config.json.
#include <fmt/format.h>

#include "cli/app.h"
#include "core/progress.h"
#include "model/config.h"

namespace elab {

void add_models_command(CLI::App& app) {
  auto* models = app.add_subcommand("models", "The model scale ladder");
  models->require_subcommand(1);
  auto* list = models->add_subcommand("list", "One preset a line: name, parameters, shape, learning rate");
  list->callback([] {
    for (const auto& p : presets()) {
      const auto& c = p.config;
      fmt::print("{:<4} {:>6}  d={} layers={} heads={} ffn={} lr={:.2g}{}\n", p.name, human_count(double(c.param_count())),
                 c.d_model, c.n_layers, c.n_heads, c.ffn_hidden, p.lr, p.cpu_sized ? "" : "  (GPU)");
    }
  });
  auto name = std::make_shared<std::string>();
  auto* config = models->add_subcommand("config", "A preset's config.json (Hugging Face Llama keys), as checkpoints hold it");
  config->add_option("preset", *name, "preset name")->required();
  config->callback([name] { fmt::print("{}", find_preset(*name).config.to_hf_json()); });
}

}  // namespace elab
