#pragma once
// Flags and helpers shared by several subcommands.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "core/threads.h"

namespace elab {

struct MachineOptions {
  std::string device = "cpu";
  ThreadSettings threads;  // training: libtorch 1 + OpenBLAS all cores (measured fastest)
};
// Decoding is element-wise work on small matrices: libtorch on every core, OpenBLAS on
// one measured fastest (preset l, batch 64: 9.6K tok/s vs 7.9K with the training setting).
MachineOptions generation_machine_defaults();
// --device, --threads, --blas-threads
void add_machine_flags(CLI::App& cmd, MachineOptions& opts);
void apply_machine_options(const MachineOptions& opts);

// Writes JSON to `path` atomically ("-" = stdout).
void write_json(const std::string& path, const nlohmann::ordered_json& j);

}  // namespace elab
