// elab study run|status|merge|report|plan, and elab report: a study from its TOML file to
// its report.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "cli/app.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/fs.h"
#include "report/report.h"
#include "results/db.h"
#include "study/imports.h"
#include "study/plan.h"
#include "study/run.h"
#include "study/stages.h"
#include "core/sqlite.h"
#include "study/store.h"

namespace elab {

static std::pair<int, int> parse_shard(const std::string& s) {
  if (s.empty()) return {0, 1};
  int i = -1, n = -1;
  char slash = 0;
  check(std::sscanf(s.c_str(), "%d%c%d", &i, &slash, &n) == 3 && slash == '/' && n > 0 && i >= 0 && i < n,
        "--shard must be I/N with 0 <= I < N (e.g. 0/4), got '{}'", s);
  return {i, n};
}

// The sbatch script of `elab study slurm`: an array job whose task i runs shard i/N into
// its own database, and a merge + report job that starts when every shard succeeded.
static std::string slurm_script(const std::string& study_file, const std::string& study_dir, int shards, const std::string& partition,
                         const std::string& time, int cpus, const std::string& elab) {
  std::string s = "#!/usr/bin/env bash\n";
  s += fmt::format("# Runs {} as {} shards on Slurm, then merges them. Submit with: bash THIS_FILE\n", study_file, shards);
  s += "# (it calls sbatch twice: the shard array, then the merge that depends on it).\nset -euo pipefail\n";
  // Threads follow each task's CPU allocation (elab reads its CPU affinity).
  s += fmt::format("ELAB={}\nSTUDY={}\nDIR={}\nmkdir -p \"$DIR/slurm\"\n", elab, study_file, study_dir);
  std::string options = fmt::format("--cpus-per-task={} --time={}", cpus, time);
  if (!partition.empty()) options += " --partition=" + partition;
  s += fmt::format(
      "array=$(sbatch --parsable --job-name=elab-shards --array=0-{} {} --output=\"$DIR/slurm/shard-%a.log\" \\\n"
      "  --wrap=\"$ELAB study run $STUDY --shard \\${{SLURM_ARRAY_TASK_ID}}/{}\")\n",
      shards - 1, options, shards);
  std::string inputs;
  for (int i = 0; i < shards; ++i) inputs += fmt::format(" $DIR/results-shard-{}-of-{}.db", i, shards);
  s += fmt::format(
      "sbatch --job-name=elab-merge --dependency=afterok:$array {} --output=\"$DIR/slurm/merge.log\" \\\n"
      "  --wrap=\"$ELAB study merge{} --out $DIR/results.db && $ELAB study report $STUDY\"\n",
      options, inputs);
  s += "echo \"submitted: shards as job $array, merge after it\"\n";
  return s;
}

// With a plan, only its jobs are reported: records of an older plan (other settings or
// task versions) stay in the database without entering the report.
static void report_to(const std::string& db, const std::string& out, const std::string& title, uint64_t seed,
                      const StudyPlan* plan = nullptr) {
  check(fs::exists(db), "{}: results database does not exist (run the study, or elab import, first)", db);
  // A study's database, imported results, or both in one file.
  const bool study_db = sqlite_has_table(db, "elab_meta");
  const auto imported = read_result_rows(db);
  check(study_db || !imported.empty(), "{}: neither an elab study database nor imported results (elab import ... --db)", db);
  std::vector<JobRecord> jobs;
  if (study_db) {
    ResultStore store(db);
    jobs = plan ? plan_records(*plan, store) : store.all();
  }
  auto report = build_report(jobs, title, seed, imported);
  write_report(report, out);
  fmt::print("{}\n\nreport: {}\n", report.summary, (fs::path(out) / "index.html").string());
}

// The arguments of the subcommands that take a study file.
struct StudyArgs {
  std::string file, shard, db;
  int jobs = 1;
  bool from_scratch = false;
};

// elab study run: every unfinished job (imports of [[results]] first), resumable, sharded or shared with other runners.
static void add_study_run(CLI::App* study) {
  auto r = std::make_shared<StudyArgs>();
  auto machine = std::make_shared<MachineOptions>();
  auto* run = study->add_subcommand("run", "Run every job of the study that is not finished yet");
  run->footer("Finished jobs are kept in the results database (default <dir>/results.db); running again resumes. "
              "With --shard I/N only the I-th of N parts runs, into its own database, for `elab study merge`.");
  run->add_option("study", r->file, "study TOML file")->required();
  run->add_option("--jobs", r->jobs, "jobs at once (each with the study's [study] workers threads)")->capture_default_str();
  run->add_option("--shard", r->shard, "run part I of N (0-based), e.g. 0/4");
  run->add_option("--db", r->db, "results database (default: in the study's directory)");
  run->add_flag("--from-scratch", r->from_scratch, "train every base even where [pretrain] shipped names shipped bases");
  add_device_flag(*run, *machine);
  run->callback([r, machine] {
    auto spec = load_study(r->file);
    StudyRunOptions o;
    std::tie(o.shard, o.shards) = parse_shard(r->shard);
    o.jobs = r->jobs;
    o.db = r->db;
    o.device = machine->device;
    o.from_scratch = r->from_scratch;
    if (!spec.results.empty()) {
      check(o.shards == 1, "{}: a study with [[results]] imports them once; run it without --shard", r->file);
      const std::string db = r->db.empty() ? default_db_path(spec, 0, 1) : r->db;
      ResultStore{db};  // the study's database first, so imported rows join it rather than found it
      import_study_results(spec, db);
    }
    if (spec.results_only()) {
      fmt::print("study {}: imported results only, no jobs\nnext: elab study report {}\n", spec.name, r->file);
      return;
    }
    auto s = run_study(spec, o);
    fmt::print("study {}: {} ran, {} already done, {} done by another runner, {} failed, {} blocked by a failed "
               "parent -> {}\n",
               spec.name, s.ran, s.already_done, s.elsewhere, s.failed, s.blocked, s.db);
    if (o.shards == 1 && s.failed == 0 && s.blocked == 0)
      fmt::print("next: elab study report {}\n", r->file);
    check(s.failed == 0, "{} jobs failed; `elab study status {}` shows their errors", s.failed, r->file);
  });
}

// elab study status: jobs done, failed and pending by kind.
static void add_study_status(CLI::App* study) {
  auto st = std::make_shared<StudyArgs>();
  auto* status = study->add_subcommand("status", "Jobs done, pending and failed (with the failing job's error)");
  status->add_option("study", st->file, "study TOML file")->required();
  status->add_option("--db", st->db, "results database (default: in the study's directory)");
  status->add_option("--shard", st->shard, "the database of part I of N (its default name)");
  status->callback([st] {
    auto spec = load_study(st->file);
    const auto [shard, shards] = parse_shard(st->shard);
    const std::string db = st->db.empty() ? default_db_path(spec, shard, shards) : st->db;
    auto plan = plan_study(spec);
    std::map<std::string, JobRecord> records;
    if (fs::exists(db)) {
      ResultStore store(db);
      for (auto& j : store.all()) records[j.key] = j;
    }
    std::map<std::string, std::array<int, 3>> counts;  // kind -> done, failed, pending
    for (const auto& j : plan.jobs) {
      auto it = records.find(j.key);
      int slot = it == records.end() ? 2 : it->second.status == "done" ? 0 : 1;
      counts[j.kind()][size_t(slot)]++;
      if (slot == 1) fmt::print("failed {}: {}\n", describe_job(plan, j), it->second.error);
    }
    int total[3] = {0, 0, 0};
    for (const auto& [kind, c] : counts) {
      fmt::print("{:<9} done {:>4}  failed {:>3}  pending {:>4}\n", kind, c[0], c[1], c[2]);
      for (int i = 0; i < 3; ++i) total[i] += c[size_t(i)];
    }
    fmt::print("all       done {:>4}  failed {:>3}  pending {:>4}  ({})\n", total[0], total[1], total[2], db);
  });
}

// elab study plan: the jobs a study expands into.
static void add_study_plan(CLI::App* study) {
  auto pl = std::make_shared<std::string>();
  auto* plan_cmd = study->add_subcommand("plan", "List the jobs a study expands into (key, kind, settings)");
  plan_cmd->add_option("study", *pl, "study TOML file")->required();
  plan_cmd->callback([pl] {
    auto plan = plan_study(load_study(*pl));
    for (const auto& j : plan.jobs) fmt::print("{} {:<8} {}\n", j.key, j.kind(), to_json(j.spec).dump());
    fmt::print("{} jobs\n", plan.jobs.size());
  });
}

// elab study merge: the databases of shards joined.
static void add_study_merge(CLI::App* study) {
  struct MergeArgs {
    std::vector<std::string> inputs;
    std::string out;
  };
  auto m = std::make_shared<MergeArgs>();
  auto* merge = study->add_subcommand("merge", "Join the databases of shards into one");
  merge->add_option("inputs", m->inputs, "results databases")->required();
  merge->add_option("--out", m->out, "the joined database (created or extended)")->required();
  merge->callback([m] {
    for (const auto& in : m->inputs)
      check(fs::weakly_canonical(in) != fs::weakly_canonical(m->out), "--out {} is also an input", m->out);
    ResultStore out(m->out);
    for (const auto& in : m->inputs) fmt::print("{}: {} jobs copied\n", in, out.merge_from(in));
  });
}

// elab study slurm: an sbatch script of shards, then merge and report.
static void add_study_slurm(CLI::App* study) {
  struct SlurmArgs {
    std::string file, out, partition, time = "24:00:00", elab;
    int shards = 0, cpus = 2;
  };
  auto sl = std::make_shared<SlurmArgs>();
  auto* slurm = study->add_subcommand("slurm", "Write an sbatch script: one array task per shard, then merge and report");
  slurm->footer("Every shard runs `elab study run STUDY --shard i/N` into <dir>/results-shard-i-of-N.db; the models "
                "directory must be on a file system all nodes share. See docs/CLUSTER.md.");
  slurm->add_option("study", sl->file, "study TOML file")->required();
  slurm->add_option("--shards", sl->shards, "number of shards (array tasks)")->required();
  slurm->add_option("--partition", sl->partition, "Slurm partition");
  slurm->add_option("--time", sl->time, "time limit per shard")->capture_default_str();
  slurm->add_option("--cpus", sl->cpus, "CPUs per shard")->capture_default_str();
  slurm->add_option("--elab", sl->elab, "path of elab on the nodes (default: this executable)");
  slurm->add_option("--out", sl->out, "script file (default: <dir>/slurm.sh; - for stdout)");
  slurm->callback([sl] {
    auto spec = load_study(sl->file);
    check(sl->shards > 0, "--shards must be positive, got {}", sl->shards);
    check(sl->cpus > 0, "--cpus must be positive, got {}", sl->cpus);
    const auto plan = plan_study(spec);
    const int groups = int(std::count_if(plan.jobs.begin(), plan.jobs.end(), [](const StudyJob& j) { return j.parent.empty(); }));
    check(sl->shards <= groups, "--shards {}: the study has only {} base models to deal out (a shard holds whole base models)",
          sl->shards, groups);
    std::string elab = sl->elab;
    if (elab.empty()) elab = fs::canonical("/proc/self/exe").string();
    const std::string script = slurm_script(fs::absolute(sl->file).string(), fs::absolute(spec.dir).string(), sl->shards,
                                            sl->partition, sl->time, sl->cpus, elab);
    const std::string out = sl->out.empty() ? (fs::path(spec.dir) / "slurm.sh").string() : sl->out;
    if (out != "-") fs::create_directories(fs::absolute(out).parent_path());
    write_output(out, script);
    if (out != "-") fmt::print("wrote {} ({} shards); submit with: bash {}\n", out, sl->shards, out);
  });
}

// elab study report: the report of a study's database.
static void add_study_report(CLI::App* study) {
  auto rp = std::make_shared<StudyArgs>();
  auto* report = study->add_subcommand("report", "Write index.html, report.md and results.csv for a study");
  report->add_option("study", rp->file, "study TOML file")->required();
  report->add_option("--db", rp->db, "results database (default: in the study's directory)");
  report->add_option("--shard", rp->shard, "report on the database of part I of N alone");
  report->callback([rp] {
    auto spec = load_study(rp->file);
    const auto [shard, shards] = parse_shard(rp->shard);
    const std::string db = rp->db.empty() ? default_db_path(spec, shard, shards) : rp->db;
    if (spec.results_only()) {
      report_to(db, (fs::path(spec.dir) / "report").string(), spec.name, spec.seed);
      return;
    }
    const auto plan = plan_study(spec);
    report_to(db, (fs::path(spec.dir) / "report").string(), spec.name, spec.seed, &plan);
  });
}

void add_study_command(CLI::App& app) {
  auto* study = app.add_subcommand("study", "Run a study (TOML: docs/STUDY_FORMAT.md) and report on it");
  study->require_subcommand(1);
  add_study_run(study);
  add_study_status(study);
  add_study_plan(study);
  add_study_merge(study);
  add_study_slurm(study);
  add_study_report(study);
}

void add_report_command(CLI::App& app) {
  struct Args {
    std::string db, out, title = "study";
    uint64_t seed = 1;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("report", "Write the report of a results database (a study's, or imported results): index.html, report.md, results.csv, verdicts.json");
  cmd->add_option("--db", a->db, "results database")->required();
  cmd->add_option("--out", a->out, "output directory")->required();
  cmd->add_option("--title", a->title, "report title")->capture_default_str();
  cmd->add_option("--seed", a->seed, "seed of the bootstrap resamples")->capture_default_str();
  cmd->callback([a] { report_to(a->db, a->out, a->title, a->seed); });
}

}  // namespace elab
