#pragma once
// `--nproc N` of elab train / finetune / bench train: the command line runs again as N
// local worker processes with torchrun's variables set (WORLD_SIZE, RANK, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT); the workers meet over c10d themselves.
#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "core/settings.h"
#include "study/stages.h"

namespace elab {

// Kept by run_cli so that the launcher can start the same command line again.
void remember_command_line(int argc, char** argv);

// --nproc, --backend, --dist-timeout.
void add_dist_flags(CLI::App& cmd, int& nproc, DistJobOptions& options);

// The flags of every command that trains (train, finetune, bench train): --precision,
// the data-parallel flags, the machine flags and --workers.
void add_training_flags(CLI::App& cmd, Precision& precision, int& nproc, DistJobOptions& dist,
                        MachineOptions& machine);

// This process's rank in a data-parallel job (0 when it runs alone).
int rank_from_env();

// With nproc > 1 and no WORLD_SIZE in the environment: starts nproc ranks of this command
// line, forwards SIGINT/SIGTERM to them, waits, and returns true; throws when a rank
// fails (the others are stopped). Returns false when this process should do the work.
bool launch_local_ranks(int nproc, const DistJobOptions& options);

}  // namespace elab
