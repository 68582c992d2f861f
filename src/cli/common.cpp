#include "cli/common.h"
#include "study/store.h"
#include "study/plan.h"

#include "study/stages.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/names.h"

namespace elab {

void add_device_flag(CLI::App& cmd, MachineOptions& opts) {
  cmd.add_option("--device", opts.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
}

void add_machine_flags(CLI::App& cmd, MachineOptions& opts) {
  add_device_flag(cmd, opts);
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

namespace elab {

int64_t parse_positive(const std::string& text, const std::string& flag) {
  const auto v = parse_integer(text);
  check(v && *v > 0, "{} must be a positive integer, got '{}'", flag, text);
  return *v;
}

double parse_real(const std::string& text, const std::string& flag) {
  const auto v = parse_number(text);
  check(v.has_value(), "{} must be a number, got '{}'", flag, text);
  return *v;
}

void add_model_shape_flags(CLI::App& cmd, ModelShape& s) {
  cmd.add_option("--preset", s.preset, "model preset as the starting point (elab models list; default s)");
  cmd.add_option("--model-config", s.config_file, "a Hugging Face config.json (Llama keys) as the starting point");
  cmd.add_option("--d-model", s.d_model, "width (hidden_size); heads follow at 16 channels each unless --heads");
  cmd.add_option("--layers", s.layers, "blocks (num_hidden_layers)");
  cmd.add_option("--heads", s.heads, "attention heads");
  cmd.add_option("--kv-heads", s.kv_heads, "key/value heads (fewer than --heads: grouped-query attention)");
  cmd.add_option("--ffn", s.ffn, "SwiGLU hidden size (default 8/3 x width)");
  cmd.add_option("--max-seq-len", s.max_seq_len, "context length (RoPE table)");
  cmd.add_option("--rope-theta", s.rope_theta, "RoPE base");
  cmd.add_option("--mlp", s.mlp, "swiglu, or none: attention-only blocks");
  cmd.add_flag("--no-tie", s.no_tie, "an output projection of its own (not tied to the embedding)");
}

void print_eval_line(const EvalSummary& s) {
  // Lenient accuracy is never shown alone: the strict one stands beside it.
  // The strict and the flexible rule side by side, as lm-evaluation-harness reports its two filters.
  std::string rule = s.extraction != "strict" ? fmt::format(" ({} extraction; strict {:.3f})", s.extraction, s.accuracy_strict) : "";
  // Likelihood scoring (mc:K): acc is the headline, acc_norm beside it, as lm-evaluation-harness reports them.
  if (s.protocol == "likelihood") rule = fmt::format(" (likelihood of each option; acc_norm {:.3f})", s.accuracy_norm.value_or(0));
  if (s.accuracy_flexible && s.extraction != "flexible") rule += fmt::format(" flexible {:.3f}", *s.accuracy_flexible);
  fmt::print("{} {} {}: accuracy {:.3f} [{:.3f}, {:.3f}]{} n={} extract_fail {:.3f} ({:.1f}s)\n", s.task, s.split, s.method,
             s.accuracy, s.ci_lo, s.ci_hi, rule, s.n, s.metrics.extract_fail, s.metrics.seconds);
}

void print_eval_notes(const EvalSummary& s) {
  for (const auto& note : s.notes) fmt::print(stderr, "note: {}\n", note);
}


ReportedStudy run_and_report(const StudySpec& spec, const StudyRunOptions& options, const std::string& file) {
  ReportedStudy out;
  out.run = run_study(spec, options);
  check(out.run.failed == 0, "{} jobs failed; `elab study status {}` shows their errors", out.run.failed, file);
  ResultStore store(out.run.db);
  out.jobs = plan_records(plan_study(spec), store);
  out.report = build_report(out.jobs, spec.name, spec.seed);
  out.report_dir = (fs::path(spec.dir) / "report").string();
  write_report(out.report, out.report_dir);
  return out;
}

}  // namespace elab
