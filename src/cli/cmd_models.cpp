// elab models list: the scale ladder; elab models config: one preset's config.json;
// elab models show: any model shape with its parameter count.
#include <fmt/format.h>

#include "cli/app.h"
#include "cli/common.h"
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

  auto shape = std::make_shared<ModelShape>();
  auto* show = models->add_subcommand(
      "show", "Any model: a preset, a config.json or a shape from flags, with its parameter count and config.json");
  show->add_option("name", shape->preset, "preset name (or use the flags below)");
  add_model_shape_flags(*show, *shape);
  show->callback([shape] {
    const ResolvedModel m = resolve_model(*shape);
    const auto& c = m.config;
    fmt::print("{}  {} parameters ({})  d={} layers={} heads={} kv-heads={} ffn={}{} tied={} context={} lr={:.2g}\n",
               m.name, human_count(double(c.param_count())), c.param_count(), c.d_model, c.n_layers, c.n_heads,
               c.n_kv_heads, c.ffn_hidden, c.ffn_hidden == 0 ? " (attention-only)" : "", c.tie_embeddings ? "yes" : "no",
               c.max_seq_len, m.lr);
    fmt::print("{}", c.to_hf_json());
  });
}

}  // namespace elab
