#include "cli/app.h"

#include <iostream>

#include "cli/launch.h"
#include "core/error.h"
#include "core/version.h"

namespace elab {

std::unique_ptr<CLI::App> build_app() {
  auto app = std::make_unique<CLI::App>(
      "elab: Emergence Lab - train model ladders, adapt them by prompting and fine-tuning, measure ID and OOD.",
      "elab");
  app->require_subcommand(1);
  app->set_version_flag("--version", std::string("elab ") + elab_version());
  add_quickstart_command(*app);
  add_plot_command(*app);
  add_models_command(*app);
  add_tasks_command(*app);
  add_train_command(*app);
  add_finetune_command(*app);
  add_eval_command(*app);
  add_export_command(*app);
  add_serve_command(*app);
  add_study_command(*app);
  add_report_command(*app);
  add_import_command(*app);
  add_reproduce_command(*app);
  add_bench_command(*app);
  return app;
}

int run_cli(int argc, char** argv) {
  remember_command_line(argc, argv);
  auto app = build_app();
  // A data-parallel rank says which one it is, so the launcher's merged stderr reads clearly.
  const std::string who = std::getenv("WORLD_SIZE") != nullptr && std::atoi(std::getenv("WORLD_SIZE")) > 1
                              ? fmt::format(" (rank {})", rank_from_env())
                              : "";
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app->exit(e);
  } catch (const Error& e) {
    std::cerr << "elab: error" << who << ": " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "elab: error" << who << " (libtorch): " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "elab: error" << who << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace elab
