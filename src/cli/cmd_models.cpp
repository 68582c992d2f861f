// elab models list: the scale ladder; elab models config: one preset's config.json;
// elab models show: any model shape with its parameter count.
#include <fmt/format.h>

#include "cli/app.h"
#include "cli/common.h"
#include "core/progress.h"
#include "core/error.h"
#include "core/fs.h"
#include "model/config.h"
#include "study/run.h"
#include "study/shipped.h"
#include "study/store.h"

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

  // Shipped bases (study/shipped.h): record a study's bases, and check them.
  struct ShipOptions {
    std::string study, out = "models/ladder", dir;
    int64_t check_n = 20;
  };
  auto ship_o = std::make_shared<ShipOptions>();
  auto* ship = models->add_subcommand(
      "ship", "Record a study's pre-trained bases as shipped bases: copies, hashes, train commands and check metrics");
  ship->footer("After `elab quickstart --from-scratch` (or `elab study run --from-scratch`), this copies each base into "
               "--out and writes --out/index.json; a study whose [pretrain] shipped names the directory then installs "
               "them instead of training. Commit the directory.");
  ship->add_option("--study", ship_o->study, "study file whose bases to ship")->required();
  ship->add_option("--out", ship_o->out, "shipped-bases directory")->capture_default_str();
  ship->add_option("--check-n", ship_o->check_n, "test items per check cell")->capture_default_str();
  ship->add_option("--dir", ship_o->dir, "the study's directory, if it ran with --out (default: the study's dir)");
  ship->callback([ship_o] {
    auto spec = load_study(ship_o->study);
    if (!ship_o->dir.empty()) spec.dir = ship_o->dir;
    ResultStore store(default_db_path(spec, 0, 1));
    const int n = ship_bases(spec, store, ship_o->out, ship_o->check_n);
    fmt::print("shipped {} bases -> {}\n", n, (fs::path(ship_o->out) / "index.json").string());
  });
  auto verify_dir = std::make_shared<std::string>("models/ladder");
  auto* verify = models->add_subcommand("verify", "Check shipped bases: content hashes and their recorded metrics");
  verify->add_option("--dir", *verify_dir, "shipped-bases directory")->capture_default_str();
  verify->callback([verify_dir] {
    int bad = 0;
    for (const auto& b : read_shipped(*verify_dir)) {
      const auto problems = verify_shipped(b);
      for (const auto& p : problems) fmt::print("MISMATCH {}\n", p);
      fmt::print("{} {}: {} checks{}\n", problems.empty() ? "ok" : "BAD", b.name, b.checks.size(),
                 problems.empty() ? "" : fmt::format(", {} differ", problems.size()));
      bad += !problems.empty();
    }
    check(bad == 0, "{} shipped bases do not reproduce their records; retrain with `elab quickstart --from-scratch`", bad);
  });
}

}  // namespace elab
