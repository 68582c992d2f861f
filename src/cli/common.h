#pragma once
// Flags and helpers shared by several subcommands.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "core/threads.h"
#include "eval/summary.h"
#include "model/config.h"
#include "report/report.h"
#include "study/run.h"

namespace elab {

struct MachineOptions {
  std::string device = "cpu";
  ThreadSettings threads;  // training: a worker per core, each with libtorch 1 + OpenBLAS 1 (measured fastest)
};
// Decoding is element-wise work on small matrices: a worker per core, each decoding its
// part of the batch with libtorch 1 + OpenBLAS 1, measured fastest (preset l, batch 64:
// 18.1-18.6K tok/s; libtorch 2 + OpenBLAS 1 on one batch 12.4-13.4K; the training setting 7.9K).
MachineOptions generation_machine_defaults();
// --device alone (commands whose jobs fix their own threads: study run, quickstart)
void add_device_flag(CLI::App& cmd, MachineOptions& opts);
// --device, --threads, --blas-threads
void add_machine_flags(CLI::App& cmd, MachineOptions& opts);
// --workers (training commands only)
void add_worker_flag(CLI::App& cmd, MachineOptions& opts);
// Applies the thread settings; returns them resolved (0 = the process's cores).
ThreadSettings apply_machine_options(const MachineOptions& opts);

// One line per result: "task split method: accuracy a [lo, hi] n=... extract_fail ...".
void print_eval_line(const EvalSummary& s);
// The backend's notes on an evaluation, one "note: ..." line each on standard error.
void print_eval_notes(const EvalSummary& s);

// Writes JSON to `path` atomically ("-" = stdout).
void write_json(const std::string& path, const nlohmann::ordered_json& j);

// --preset, --model-config and the shape knobs (--d-model --layers --heads --kv-heads
// --ffn --max-seq-len --rope-theta --mlp --no-tie), declared once for train and models show.
void add_model_shape_flags(CLI::App& cmd, ModelShape& shape);

// A flag's text as a positive integer / a number, or an Error naming the flag.
int64_t parse_positive(const std::string& text, const std::string& flag);
double parse_real(const std::string& text, const std::string& flag);


// A study run to its end and reported: every job (resuming), an Error naming the study
// when any failed, then its report written to <dir>/report. `elab quickstart` and
// `elab reproduce` run a study this way.
struct ReportedStudy {
  StudyRunSummary run;
  std::vector<JobRecord> jobs;  // the plan's records
  StudyReport report;
  std::string report_dir;
};
ReportedStudy run_and_report(const StudySpec& spec, const StudyRunOptions& options, const std::string& file);

}  // namespace elab
