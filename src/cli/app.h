#pragma once
// The `elab` command line: every subcommand registered in build_app().
#include <CLI/CLI.hpp>
#include <memory>

namespace elab {

std::unique_ptr<CLI::App> build_app();

// One function per subcommand file.
void add_models_command(CLI::App& app);
void add_tasks_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_finetune_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_bench_serve_command(CLI::App& bench);  // under `bench`
void add_serve_command(CLI::App& app);
void add_study_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_quickstart_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_import_command(CLI::App& app);
void add_reproduce_command(CLI::App& app);

// Runs the command line; returns the process exit code. Errors become one line on stderr.
int run_cli(int argc, char** argv);

}  // namespace elab
