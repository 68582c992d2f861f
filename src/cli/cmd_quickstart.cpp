// elab quickstart: the shipped quickstart study (studies/quickstart.toml: the shipped
// ladder of 3 presets x 2 recipes, prompting and fine-tuning on two tasks), run and
// reported in minutes on two CPU cores. Running it again reuses everything finished.
#include <fmt/format.h>
#include <unistd.h>

#include "cli/app.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/progress.h"
#include "report/report.h"
#include "study/run.h"
#include "study/store.h"

namespace elab {

// studies/quickstart.toml in the working directory, else beside the executable's checkout
// (build/elab -> ../studies).
static std::string find_quickstart_study() {
  if (fs::exists("studies/quickstart.toml")) return "studies/quickstart.toml";
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = 0;
    for (fs::path dir = fs::path(exe).parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
      if (fs::exists(dir / "studies" / "quickstart.toml")) return (dir / "studies" / "quickstart.toml").string();
  }
  fail("studies/quickstart.toml not found in the working directory or above {}; pass --study FILE", n > 0 ? exe : "elab");
}

void add_quickstart_command(CLI::App& app) {
  struct Options {
    std::string study;
    std::string out;  // overrides the study's dir
    int jobs = 1;
    bool from_scratch = false;
  };
  auto o = std::make_shared<Options>();
  auto machine = std::make_shared<MachineOptions>();
  auto* cmd = app.add_subcommand("quickstart", "Run the quickstart study on the shipped bases and write its report (about 20 minutes on 2 CPU cores)");
  cmd->footer("Runs studies/quickstart.toml on the shipped bases of models/ladder (presets xs, s, m on the recipes "
              "ladder-bursty and ladder-iid): prompting (direct, icl:1, icl:4, cot:1, the random-label probe) and "
              "fine-tuning (full and LoRA, N = 4 and 64) on addition and in-context classification, then writes "
              "studies/quickstart/report/ (index.html, report.md, results.csv, verdicts.json) and prints each "
              "question's answer. A plan the shipped bases do not cover is refused; --from-scratch trains them "
              "(about 17 minutes), and `elab models ship --study studies/quickstart.toml` records them.");
  cmd->add_option("--study", o->study, "study file (default: studies/quickstart.toml)");
  cmd->add_option("--out", o->out, "directory for models, results.db and report/ (default: the study's dir)");
  cmd->add_option("--jobs", o->jobs, "jobs at once")->capture_default_str();
  cmd->add_flag("--from-scratch", o->from_scratch,
                "train the base ladder instead of installing the shipped bases (models/ladder; about an hour on 2 cores)");
  add_device_flag(*cmd, *machine);
  cmd->callback([o, machine] {
    const std::string file = o->study.empty() ? find_quickstart_study() : o->study;
    auto spec = load_study(file);
    if (!o->out.empty()) spec.dir = o->out;
    StudyRunOptions ro;
    ro.jobs = o->jobs;
    ro.device = machine->device;
    ro.from_scratch = o->from_scratch;
    ro.require_shipped = true;  // minutes, not an hour: a plan the shipped bases do not cover is refused
    const auto t0 = std::chrono::steady_clock::now();
    const auto done = run_and_report(spec, ro, file);
    const auto& summary = done.run;
    fmt::print("{}\n\nquickstart: {} jobs ({} run now, {} reused) in {}\nreport: {}\n", done.report.summary,
               summary.ran + summary.already_done + summary.elsewhere, summary.ran,
               summary.already_done + summary.elsewhere,
               human_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()),
               (fs::path(done.report_dir) / "index.html").string());
  });
}

}  // namespace elab
