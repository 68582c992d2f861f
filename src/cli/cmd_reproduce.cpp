// elab reproduce list|NAME: the reproductions of studies/reproduce/ (study files with a
// [reproduce] table, study/reproduce.h), listed with their papers and criteria, or one
// run, reported and judged against its criterion.
#include <fmt/format.h>

#include <chrono>

#include "cli/app.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/names.h"
#include "report/report.h"
#include "report/reproduction.h"
#include "study/plan.h"
#include "study/run.h"
#include "study/spec.h"
#include "study/store.h"

namespace elab {

namespace {

// Every NAME.toml of `dir`, by name.
std::vector<fs::path> reproduction_files(const std::string& dir) {
  check(fs::is_directory(dir), "{}: no such directory of reproductions (pass --dir, or run from the repository root)", dir);
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".toml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

void list_reproductions(const std::string& dir) {
  for (const auto& file : reproduction_files(dir)) {
    const std::string name = file.stem().string();
    try {
      const StudySpec spec = load_study(file.string());
      check(spec.reproduce.has_value(), "{} has no [reproduce] table", file.string());
      const fs::path verdict = fs::path(spec.dir) / "report" / "reproduction.json";
      std::string last = "not run";
      if (fs::exists(verdict)) {
        const auto j = nlohmann::json::parse(read_file(verdict.string()), nullptr, false);
        if (j.is_object() && j.contains("passed")) last = j["passed"].get<bool>() ? "PASS" : "FAIL";
      }
      fmt::print("{:<16} {:<8} {}\n{:<16} {:<8} criterion: {}\n", name, last, spec.reproduce->paper, "", "",
                 spec.reproduce->criterion.text());
    } catch (const Error& e) {
      fmt::print("{:<16} {:<8} {}\n", name, "invalid", e.what());  // the others still list
    }
  }
}

}  // namespace

void add_reproduce_command(CLI::App& app) {
  struct Options {
    std::string what, dir = "studies/reproduce";
    int jobs = 1;
  };
  auto o = std::make_shared<Options>();
  auto machine = std::make_shared<MachineOptions>();
  auto* cmd = app.add_subcommand("reproduce", "List the reproductions of published results, or run one and judge it");
  cmd->footer("`elab reproduce list` lists studies/reproduce/*.toml: each a study with a [reproduce] table (the paper, its "
              "setting and numbers, ours, and a pass/fail criterion fixed before the first run; docs/STUDY_FORMAT.md). "
              "`elab reproduce NAME` runs NAME.toml (resuming), writes its study report and report/reproduction.{md,html,json}, "
              "and prints PASS or FAIL with the numbers. A study whose criterion no longer matches its settings (fewer seeds "
              "than it needs, a cell the study does not make) is refused before anything runs.");
  cmd->add_option("what", o->what, "list, or the name of a reproduction")->required();
  cmd->add_option("--dir", o->dir, "directory of reproduction study files")->capture_default_str();
  cmd->add_option("--jobs", o->jobs, "jobs at once")->capture_default_str();
  add_device_flag(*cmd, *machine);
  cmd->callback([o, machine] {
    if (o->what == "list") return list_reproductions(o->dir);
    const fs::path file = fs::path(o->dir) / (o->what + ".toml");
    if (!fs::exists(file)) {
      std::vector<std::string> names;
      for (const auto& f : reproduction_files(o->dir)) names.push_back(f.stem().string());
      fail_unknown("reproduction", o->what, names);
    }
    auto spec = load_study(file.string());  // refuses a criterion that does not match the settings
    check(spec.reproduce.has_value(), "{} has no [reproduce] table: it is a study, not a reproduction (elab study run)",
          file.string());
    StudyRunOptions ro;
    ro.jobs = o->jobs;
    ro.device = machine->device;
    const auto t0 = std::chrono::steady_clock::now();
    const auto done = run_and_report(spec, ro, file.string());
    const std::string& out = done.report_dir;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto verdict = judge_reproduction(spec.reproduce->criterion, eval_rows(done.jobs), spec.seed);
    double job_seconds = 0;
    for (const auto& j : done.jobs) job_seconds += j.seconds;
    const auto page = reproduction_page(o->what, *spec.reproduce, verdict, seconds, job_seconds);
    write_file_atomic(fs::path(out) / "reproduction.md", page.markdown);
    write_file_atomic(fs::path(out) / "reproduction.html", page.html);
    write_file_atomic(fs::path(out) / "reproduction.json", page.json);
    fmt::print("reproduction {}: {}: {}\n{}\ncriterion: {}\npage: {}\n", o->what, verdict.passed ? "PASS" : "FAIL",
               verdict.reason, spec.reproduce->paper, spec.reproduce->criterion.text(),
               (fs::path(out) / "reproduction.html").string());
  });
}

}  // namespace elab
