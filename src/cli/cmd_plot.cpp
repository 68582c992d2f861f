// elab plot RUN_DIR: loss and each evaluated accuracy against training steps, as SVG,
// with the transition step of each curve marked and printed.
#include <fmt/format.h>

#include "cli/app.h"
#include "core/fs.h"
#include "report/curves.h"

namespace elab {

void add_plot_command(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("plot", "Loss and accuracy over training steps of a run (SVG), transitions marked");
  cmd->add_option("run", *dir, "a directory written by elab train")->required();
  cmd->add_option("--out", *out, "the SVG file (default RUN/curves.svg)");
  cmd->callback([dir, out] {
    const RunCurves curves = read_run_curves(*dir);
    const std::string path = out->empty() ? (fs::path(*dir) / "curves.svg").string() : *out;
    write_file_atomic(path, run_curves_svg(curves, *dir));
    auto describe = [](const Curve& c, double min_change) {
      const Transition t = find_transition(c, min_change);
      fmt::print("{:<48} {:.3f} -> {:.3f}", c.name, t.start, t.end);
      if (t.found)
        fmt::print("  transition at step {:.0f} (20%-80% rise over {:.0f} steps), plateau from step {:.0f}", t.step,
                   t.width, t.plateau_step);
      else
        fmt::print("  no transition (change below {})", min_change);
      fmt::print("\n");
    };
    for (const auto& c : curves.losses) describe(c, 0.05);
    for (const auto& c : curves.accuracies) describe(c, 0.1);
    fmt::print("{}\n", path);
  });
}

}  // namespace elab
