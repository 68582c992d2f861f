#include "study/run.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/progress.h"
#include "core/threads.h"
#include "study/jobs.h"
#include "study/store.h"
#include "train/trainer.h"

namespace elab {

std::string default_db_path(const StudySpec& spec, int shard, int shards) {
  if (shards <= 1) return (fs::path(spec.dir) / "results.db").string();
  return (fs::path(spec.dir) / fmt::format("results-shard-{}-of-{}.db", shard, shards)).string();
}

std::string model_dir(const StudySpec& spec, const std::string& job_key) {
  return (fs::path(spec.dir) / "models" / job_key).string();
}

namespace {

// What one job does; returns its result summary (and evaluation samples).
nlohmann::json run_job(const StudySpec& spec, const StudyJob& job, const std::string& device, int workers,
                       std::vector<nlohmann::json>& samples) {
  const auto& s = job.spec;
  if (job.kind == "pretrain") {
    TrainJob t;
    if (s.contains("model")) {
      t.shape = shape_of(s["model"]);
      t.model_name = s["preset"];  // the [[model]] name the report shows
    } else {
      t.preset = s["preset"];
    }
    t.recipe = s["recipe"];
    t.tokens = s["tokens"];
    t.seed = s["seed"];
    t.batch_size = s["batch"];
    t.seq_len = s["seq_len"];
    t.lr = s["lr"];
    t.loss = s["loss"];
    t.precision = s.value("precision", std::string("fp32"));
    t.device = device;
    t.workers = workers;
    t.out = model_dir(spec, job.key);
    t.resume = fs::exists(fs::path(t.out) / "trainer_state.json");  // a run killed mid-way continues exactly
    if (s.contains("control")) apply_train_control(t, s["control"]);
    auto r = run_train_job(t);
    ModelShape shape = t.shape;
    if (!s.contains("model")) shape.preset = t.preset;
    nlohmann::json result = {{"steps", r.steps_done}, {"tokens", r.tokens_seen}, {"train_loss", r.train_loss},
                             {"heldout_loss", r.heldout_loss}, {"parameters", resolve_model(shape).config.param_count()}};
    // The evaluations during training, step by step: the report's training-step curves.
    if (!t.eval_tasks.empty()) result["curves"] = training_curves(t.out);
    return result;
  }
  if (job.kind == "finetune") {
    FinetuneJob f;
    f.base = model_dir(spec, job.parent);
    f.task = s["task"];
    f.n_train = s["n_train"];
    f.out = model_dir(spec, job.key);
    f.overwrite = true;  // deterministic: a half-finished earlier attempt is simply redone
    f.device = device;
    f.config.method = s["method"];
    f.config.precision = s.value("precision", std::string("fp32"));
    f.config.seed = s["seed"];
    f.config.workers = workers;
    auto r = run_finetune_job(f);
    return r.meta["finetune"];
  }
  EvalJob e;
  e.model = model_dir(spec, job.parent);
  if (s.contains("snapshot")) e.model = snapshot_dir(e.model, s["snapshot"].get<int64_t>()).string();
  e.task = s["task"];
  e.spec.split = s["split"];
  e.spec.method = s["method"];
  e.spec.n = s["n"];
  e.spec.seed = s["seed"];
  e.device = device;
  e.backend.workers = workers;
  auto r = run_eval_job(e);
  for (auto& x : r.samples) samples.push_back(nlohmann::json::parse(x.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  return nlohmann::json::parse(r.summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string describe(const std::map<std::string, const StudyJob*>& by_key, const StudyJob& job) {
  auto find = [&](const std::string& key) -> const StudyJob* {
    auto it = by_key.find(key);
    return it == by_key.end() ? nullptr : it->second;
  };
  const StudyJob* pre = find(job.group);
  std::string base = pre ? fmt::format("{}/{}/s{}", pre->spec["preset"].get<std::string>(),
                                       pre->spec["recipe"].get<std::string>(), pre->spec["seed"].get<uint64_t>())
                         : job.group;
  if (job.kind == "pretrain") return "pretrain " + base;
  if (job.kind == "finetune")
    return fmt::format("finetune {} {} {} N={}", base, job.spec["method"].get<std::string>(),
                       job.spec["task"].get<std::string>(), job.spec["n_train"].get<int64_t>());
  std::string model = base;
  if (const StudyJob* parent = find(job.parent); parent && parent->kind == "finetune")
    model += fmt::format("+ft:{}:{}", parent->spec["method"].get<std::string>(), parent->spec["n_train"].get<int64_t>());
  return fmt::format("eval {} {} {} {}", model, job.spec["task"].get<std::string>(), job.spec["split"].get<std::string>(),
                     job.spec["method"].get<std::string>());
}

}  // namespace

StudyRunSummary run_study(const StudySpec& spec, const StudyRunOptions& o) {
  check(o.jobs > 0, "--jobs must be positive, got {}", o.jobs);
  check(o.shards > 0 && o.shard >= 0 && o.shard < o.shards, "--shard must be I/N with 0 <= I < N, got {}/{}", o.shard,
        o.shards);
  const StudyPlan plan = plan_study(spec);
  StudyRunSummary summary;
  summary.db = o.db.empty() ? default_db_path(spec, o.shard, o.shards) : o.db;
  ResultStore store(summary.db);
  for (const auto& note : plan.skipped) fmt::print(stderr, "study: skipped: {}\n", note);

  // The jobs of this shard, and which are finished already.
  std::vector<const StudyJob*> to_run;
  std::map<std::string, std::string> state;  // key -> done | failed | pending | running
  std::map<std::string, const StudyJob*> by_key;
  for (const auto& j : plan.jobs) by_key[j.key] = &j;
  const std::vector<bool> mine = shard_mask(plan, o.shard, o.shards);
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    const StudyJob& j = plan.jobs[i];
    if (!mine[i]) continue;
    auto rec = store.find(j.key);
    if (rec && rec->status == "done") {
      state[j.key] = "done";
      ++summary.already_done;
    } else {
      state[j.key] = "pending";
      to_run.push_back(&j);
    }
  }
  fmt::print(stderr, "study {}: {} jobs in {}, {} done, {} to run -> {}\n", spec.name,
             to_run.size() + size_t(summary.already_done),
             o.shards > 1 ? fmt::format("shard {}/{}", o.shard, o.shards) : "the study", summary.already_done, to_run.size(),
             summary.db);

  std::mutex mutex;
  std::condition_variable changed;
  bool interrupted = false;
  install_interrupt_handler();
  std::map<std::string, double> seconds_by_kind, count_by_kind;
  size_t finished = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const int cores = hardware_cores();
  const int per_job = std::max(1, cores / o.jobs);

  auto worker = [&] {
    for (;;) {
      const StudyJob* job = nullptr;
      {
        std::unique_lock lock(mutex);
        for (;;) {
          bool any_pending = false;  // jobs still waiting for a parent that may yet finish
          for (const StudyJob* j : to_run) {
            if (state[j->key] != "pending") continue;
            const std::string parent = j->parent.empty() ? "done" : state[j->parent];
            if (parent == "done") {
              job = j;
              break;
            }
            if (parent == "failed" || parent == "blocked") {
              // Parents come before children, so a failure blocks its whole subtree in this pass.
              state[j->key] = "blocked";
              ++summary.blocked;
              ++finished;
              changed.notify_all();
              continue;
            }
            any_pending = true;
          }
          if (job || !any_pending) break;
          changed.wait(lock);
        }
        if (!job) return;
        state[job->key] = "running";
      }
      // As the commands do: a batch-sharing worker per core of the job, each with
      // libtorch 1 + OpenBLAS 1, for training and decoding alike (measured fastest for
      // both; OpenBLAS threads would spin in sched_yield between decoding's small
      // products: 0.95 s of system time on a 1.5 s evaluation).
      // OpenMP settings are per thread, so each worker sets its own.
      const ThreadSettings threads =
          configure_threads(ThreadSettings{1, 1, per_job});
      const std::string what = describe(by_key, *job);
      JobRecord rec{job->key, job->kind, job->group, job->parent, job->spec, "done", "", nullptr, 0};
      std::vector<nlohmann::json> samples;
      const auto start = std::chrono::steady_clock::now();
      try {
        rec.result = run_job(spec, *job, o.device, threads.workers, samples);
      } catch (const std::exception& e) {
        if (interrupt_requested()) {  // Ctrl-C: stop, record nothing; the next run continues
          std::lock_guard lock(mutex);
          interrupted = true;
          for (const StudyJob* j : to_run)
            if (state[j->key] == "pending") state[j->key] = "blocked";
          changed.notify_all();
          return;
        }
        rec.status = "failed";
        rec.error = e.what();
        samples.clear();
      }
      rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      store.put(rec, samples);
      std::lock_guard lock(mutex);
      state[job->key] = rec.status;
      ++finished;
      if (rec.status == "done") ++summary.ran; else ++summary.failed;
      seconds_by_kind[job->kind] += rec.seconds;
      count_by_kind[job->kind] += 1;
      // ETA: the mean time of each kind so far, over the jobs of that kind still to run.
      double eta = 0;
      for (const StudyJob* j : to_run)
        if (state[j->key] == "pending" && count_by_kind[j->kind] > 0) eta += seconds_by_kind[j->kind] / count_by_kind[j->kind];
      const std::string outcome = rec.status == "done"
                                      ? (rec.result.contains("accuracy") ? fmt::format("accuracy {:.3f}", rec.result["accuracy"].get<double>()) : "ok")
                                      : "FAILED: " + rec.error;
      fmt::print(stderr, "[{}/{}] {}: {} ({}), elapsed {}, ETA ~{}\n", finished, to_run.size(), what, outcome,
                 human_duration(rec.seconds), human_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()),
                 human_duration(eta / o.jobs));
      changed.notify_all();
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < o.jobs; ++i) workers.emplace_back(worker);
  for (auto& w : workers) w.join();
  check(!interrupted, "interrupted; finished jobs are in {}; run the study again to continue", summary.db);
  return summary;
}

}  // namespace elab
