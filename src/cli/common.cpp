#include "cli/common.h"

#include <iostream>

#include "study/jobs.h"
#include "core/fs.h"

namespace elab {

void add_machine_flags(CLI::App& cmd, MachineOptions& opts) {
  cmd.add_option("--device", opts.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd.add_option("--threads", opts.threads.torch_threads,
                 "libtorch intra-op threads (element-wise ops); 0 = every core")
      ->capture_default_str();
  cmd.add_option("--blas-threads", opts.threads.blas_threads,
                 "OpenBLAS threads (matrix products); 0 = every core, or 1 when workers share the cores")
      ->capture_default_str();
}

MachineOptions generation_machine_defaults() {
  MachineOptions m;
  m.threads = {1, 1, 0};
  return m;
}

void add_worker_flag(CLI::App& cmd, MachineOptions& opts) {
  cmd.add_option("--workers", opts.threads.workers,
                 "threads that share each batch, each with single-threaded operations (0 = one per core)")
      ->capture_default_str();
}

ThreadSettings apply_machine_options(const MachineOptions& opts) { return configure_threads(opts.threads); }

void write_json(const std::string& path, const nlohmann::ordered_json& j) { write_output(path, j.dump(2) + "\n"); }

}  // namespace elab
