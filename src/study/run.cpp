#include "study/run.h"
#include "study/shipped.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <unistd.h>

#include "core/error.h"
#include "core/progress.h"
#include "core/threads.h"
#include "backends/registry.h"
#include "eval/eval_settings.h"
#include "study/pretrain_settings.h"
#include "study/stages.h"
#include "study/store.h"
#include "model/checkpoint.h"
#include "model/gguf_model.h"
#include "model/model_cache.h"
#include "train/finetune_settings.h"
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

// What one job does; returns its result (and evaluation samples).
JobResult run_job(const StudySpec& spec, const StudyJob& job, const std::string& device, const JobSpec* parent,
                  const std::map<std::string, ShippedBase>& shipped, std::vector<nlohmann::json>& samples) {
  if (const auto* p = std::get_if<PretrainJobSpec>(&job.spec)) {
    if (auto it = shipped.find(job.key); it != shipped.end()) return install_shipped(it->second, model_dir(spec, job.key));
    TrainJob t;
    if (p->shape) {
      t.shape = *p->shape;
      t.model_name = p->preset;  // the [[model]] name the report shows
    } else {
      t.preset = p->preset;
    }
    t.recipe = p->recipe;
    t.tokens = p->tokens;
    t.seed = p->seed;
    t.batch_size = p->batch;
    t.seq_len = p->seq_len;
    t.lr = p->lr;
    t.loss = p->loss;
    t.precision = p->precision;
    t.device = device;
    t.workers = p->workers;
    t.out = model_dir(spec, job.key);
    t.resume = fs::exists(fs::path(t.out) / "trainer_state.json");  // a run killed mid-way continues exactly
    apply_pretrain_settings(t, p->settings);
    auto r = run_train_job(t);
    ModelShape shape = t.shape;
    if (!p->shape) shape.preset = t.preset;
    PretrainOutcome out{r.steps_done, r.tokens_seen, resolve_model(shape).config.param_count(), r.train_loss,
                        r.heldout_loss, nullptr};
    // The evaluations during training, step by step: the report's training-step curves.
    if (!t.eval_tasks.empty()) out.curves = training_curves(t.out);
    return out;
  }
  if (const auto* src = std::get_if<SourceJobSpec>(&job.spec)) {
    // Nothing to make; a directory or GGUF file must at least be there, and its parameters
    // are counted for the report's scale axis (an endpoint is tried by its evaluations).
    if (!backend_for(src->model).scheme.empty()) return SourceOutcome{};
    check(fs::is_directory(src->model) || is_gguf_path(src->model),
          "[[model]] '{}': {} is neither a model directory nor a .gguf file", src->name, src->model);
    return SourceOutcome{model_parameter_count(src->model)};
  }
  // Fine-tuning and evaluation take the parent's model: a study directory, or a source.
  const auto* source = parent ? std::get_if<SourceJobSpec>(parent) : nullptr;
  const std::string parent_model = source ? source->model : model_dir(spec, job.parent);
  if (const auto* f = std::get_if<FinetuneJobSpec>(&job.spec)) {
    FinetuneJob ft;
    ft.base = parent_model;
    ft.task = f->task;
    ft.n_train = f->n_train;
    ft.out = model_dir(spec, job.key);
    ft.overwrite = true;  // deterministic: a half-finished earlier attempt is simply redone
    ft.device = device;
    ft.config.method = f->method;
    ft.config.precision = f->precision;
    ft.config.seed = f->seed;
    ft.config.workers = int(f->workers);
    if (f->steps) ft.config.steps = f->steps;
    if (f->batch) ft.config.batch_size = f->batch;
    if (f->folds) ft.config.folds = f->folds;
    apply_finetune_settings(ft.config, f->settings, "[[finetune]] settings");
    auto r = run_finetune_job(ft);
    return r.outcome;
  }
  const auto& e = std::get<EvalJobSpec>(job.spec);
  EvalJob ev;
  ev.model = parent_model;
  if (e.snapshot > 0) ev.model = snapshot_dir(ev.model, e.snapshot).string();
  if (source) ev.backend = parse_backend_args(source->args);
  ev.task = e.task;
  ev.spec.split = e.split;
  ev.spec.method = e.method;
  ev.spec.n = e.n;
  ev.spec.seed = e.seed;
  apply_eval_settings(ev.spec, e.settings, "evaluation settings");
  ev.device = device;
  ev.workers = e.workers;
  auto r = run_eval_job(ev);
  for (auto& x : r.samples) samples.push_back(nlohmann::json::parse(x.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  return r.summary;
}

}  // namespace

namespace {

// A claim not renewed for this long is a dead runner's (renewed every sixth of it).
constexpr double kClaimExpirySeconds = 60;

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Unique among the runners that may share a database: host, process, and a count for
// runs in one process.
std::string runner_id() {
  static std::atomic<int> runs{0};
  char host[256] = "host";
  gethostname(host, sizeof host - 1);
  return fmt::format("{}:{}:{}", host, getpid(), runs++);
}

// The jobs of one run and where each stands, shared by the worker threads under a mutex.
// Parents come before children in `to_run`, so a failure blocks its whole subtree in
// one pass. Other runners may share the database: a job is claimed there before it runs,
// and one that another runner holds waits ("elsewhere") until it is recorded done there
// (its children may then run here) or its claim is dropped.
struct Schedule {
  std::vector<const StudyJob*> to_run;
  std::map<std::string, std::string> state;  // key -> done | failed | blocked | pending | running | elsewhere
  std::map<std::string, double> seconds_by_kind, count_by_kind;
  size_t finished = 0;
  bool interrupted = false;
  std::mutex mutex;
  std::condition_variable changed;
  ResultStore* store = nullptr;
  std::string runner;
  std::vector<std::string> done_elsewhere;  // to be announced by the worker that noticed

  // The next job whose parent is done and that this runner could claim (marking the
  // children of failures blocked); null when nothing is left that could still run.
  // Called with the mutex held.
  const StudyJob* next(StudyRunSummary& summary, std::unique_lock<std::mutex>& lock) {
    for (;;) {
      bool any_pending = false;  // jobs still waiting for a parent that may yet finish
      bool any_elsewhere = false;
      const double now = unix_seconds();
      for (const StudyJob* j : to_run) {
        std::string& st = state[j->key];
        if (st == "elsewhere") {
          switch (store->elsewhere(j->key, runner, now, kClaimExpirySeconds)) {
            case ResultStore::Elsewhere::done:
              st = "done";
              ++summary.elsewhere;
              ++finished;
              done_elsewhere.push_back(j->key);
              changed.notify_all();
              break;
            case ResultStore::Elsewhere::running: any_elsewhere = true; continue;
            case ResultStore::Elsewhere::free: st = "pending"; break;
          }
        }
        if (st != "pending") continue;
        const std::string parent = j->parent.empty() ? "done" : state[j->parent];
        if (parent == "done") {
          if (!store->claim(j->key, runner, now, kClaimExpirySeconds)) {
            st = "elsewhere";
            any_elsewhere = true;
            continue;
          }
          st = "running";
          return j;
        }
        if (parent == "failed" || parent == "blocked") {
          st = "blocked";
          ++summary.blocked;
          ++finished;
          changed.notify_all();
          continue;
        }
        any_pending = true;
      }
      if (!done_elsewhere.empty()) return nullptr;  // the caller announces them, then asks again
      if (!any_pending && !any_elsewhere) return nullptr;
      // Another runner's progress is seen only by asking the database again.
      if (any_elsewhere)
        changed.wait_for(lock, std::chrono::milliseconds(500));
      else
        changed.wait(lock);
    }
  }

  // ETA: the mean time of each kind so far, over the jobs of that kind still to run.
  double eta_seconds(int jobs_at_once) {
    double eta = 0;
    for (const StudyJob* j : to_run)
      if (state[j->key] == "pending" && count_by_kind[j->kind()] > 0)
        eta += seconds_by_kind[j->kind()] / count_by_kind[j->kind()];
    return eta / jobs_at_once;
  }
};

// Stage 1: this shard's jobs, those finished already, and those to run.
void select_jobs(const StudyPlan& plan, ResultStore& store, int shard, int shards, Schedule& s, StudyRunSummary& summary) {
  const std::vector<bool> mine = shard_mask(plan, shard, shards);
  for (size_t i = 0; i < plan.jobs.size(); ++i) {
    const StudyJob& j = plan.jobs[i];
    if (!mine[i]) continue;
    auto rec = store.find(j.key);
    if (rec && rec->status == "done") {
      s.state[j.key] = "done";
      ++summary.already_done;
    } else {
      s.state[j.key] = "pending";
      s.to_run.push_back(&j);
    }
  }
}

// Stage 2, one job: run it and record its result (or its error) with its samples.
// Returns false when it was interrupted (Ctrl-C): nothing is recorded, the next run
// continues.
bool run_and_record(const StudySpec& spec, const StudyJob& job, const JobSpec* parent, const std::string& device,
                    const std::map<std::string, ShippedBase>& shipped, ResultStore& store, JobRecord& rec) {
  rec = {job.key, job.kind(), job.group, job.parent, job.spec, "done", "", std::monostate{}, 0};
  std::vector<nlohmann::json> samples;
  const auto start = std::chrono::steady_clock::now();
  try {
    rec.result = run_job(spec, job, device, parent, shipped, samples);
  } catch (const std::exception& e) {
    if (interrupt_requested()) return false;
    rec.status = "failed";
    rec.error = e.what();
    samples.clear();
  }
  rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  store.put(rec, samples);
  return true;
}

}  // namespace

StudyRunSummary run_study(const StudySpec& spec, const StudyRunOptions& o) {
  check(o.jobs > 0, "--jobs must be positive, got {}", o.jobs);
  check(o.shards > 0 && o.shard >= 0 && o.shard < o.shards, "--shard must be I/N with 0 <= I < N, got {}/{}", o.shard,
        o.shards);
  const StudyPlan plan = plan_study(spec);
  // Each base is read once for its evaluations, fine-tuning folds and refits, and the
  // evaluations of adapters made on it (model/model_cache.h).
  enable_model_cache(default_model_cache_bytes());
  StudyRunSummary summary;
  summary.db = o.db.empty() ? default_db_path(spec, o.shard, o.shards) : o.db;
  ResultStore store(summary.db);
  // The job's own thread count is in its key ([study] workers): --jobs J runs J of them.
  if (o.jobs * spec.workers > hardware_cores())
    fmt::print(stderr, "study: note: {} jobs of {} workers each on {} cores\n", o.jobs, spec.workers, hardware_cores());
  std::map<std::string, const StudyJob*> by_key;
  for (const auto& j : plan.jobs) by_key[j.key] = &j;

  Schedule s;
  s.store = &store;
  s.runner = runner_id();
  select_jobs(plan, store, o.shard, o.shards, s, summary);
  // Shipped bases stand in for the pre-training jobs they record. With require_shipped
  // (the quickstart), a job without its base is refused before anything runs, rather
  // than trained for an hour; otherwise it is trained, and said so.
  std::map<std::string, ShippedBase> shipped;
  if (!spec.shipped.empty() && !o.from_scratch) {
    for (auto& b : read_shipped(spec.shipped)) shipped[b.key] = b;
    int missing = 0;
    for (const StudyJob* j : s.to_run)
      if (j->kind() == "pretrain" && !shipped.count(j->key)) {
        check(!o.require_shipped,
              "study {}: no shipped base in {} matches pre-training job {} (key {}): the plan changed since the bases "
              "were recorded. Train them with --from-scratch (then `elab models ship --study {}` records them)",
              spec.name, spec.shipped, base_label(j->spec), j->key, spec.path);
        ++missing;
      }
    if (missing > 0)
      fmt::print(stderr, "study {}: {} pre-training jobs have no shipped base in {} and will be trained\n", spec.name,
                 missing, spec.shipped);
  }
  fmt::print(stderr, "study {}: {} jobs in {}, {} done, {} to run -> {}\n", spec.name,
             s.to_run.size() + size_t(summary.already_done),
             o.shards > 1 ? fmt::format("shard {}/{}", o.shard, o.shards) : "the study", summary.already_done,
             s.to_run.size(), summary.db);
  install_interrupt_handler();
  const auto t0 = std::chrono::steady_clock::now();

  // Stage 2: J workers, each taking the next job whose parent is done.
  auto worker = [&] {
    // As the commands do: batch-sharing workers, each with libtorch 1 + OpenBLAS 1, for
    // training and decoding alike (measured fastest for both; OpenBLAS threads would spin
    // in sched_yield between decoding's small products: 0.95 s of system time on a 1.5 s
    // evaluation). OpenMP settings are per thread, so each worker sets its own, before
    // each job (a job may change them while it runs).
    for (;;) {
      const StudyJob* job = nullptr;
      {
        std::unique_lock lock(s.mutex);
        job = s.next(summary, lock);
        if (!job && !s.done_elsewhere.empty()) {
          for (const auto& key : s.done_elsewhere)
            fmt::print(stderr, "[{}/{}] {}: done by another runner\n", s.finished, s.to_run.size(),
                       describe_job(plan, *by_key.at(key)));
          s.done_elsewhere.clear();
          continue;
        }
      }
      if (!job) return;
      configure_threads(ThreadSettings{1, 1, int(spec.workers)});
      const JobSpec* parent = job->parent.empty() ? nullptr : &by_key.at(job->parent)->spec;
      JobRecord rec;
      const bool recorded = run_and_record(spec, *job, parent, o.device, shipped, store, rec);
      std::lock_guard lock(s.mutex);
      if (!recorded) {  // interrupted: nothing more starts
        s.interrupted = true;
        for (const StudyJob* j : s.to_run)
          if (s.state[j->key] == "pending") s.state[j->key] = "blocked";
        s.changed.notify_all();
        return;
      }
      s.state[job->key] = rec.status;
      ++s.finished;
      (rec.status == "done" ? summary.ran : summary.failed) += 1;
      s.seconds_by_kind[job->kind()] += rec.seconds;
      s.count_by_kind[job->kind()] += 1;
      const std::string outcome = rec.status != "done" ? "FAILED: " + rec.error
                                  : rec.summary()     ? fmt::format("accuracy {:.3f}", rec.summary()->accuracy)
                                                      : "ok";
      fmt::print(stderr, "[{}/{}] {}: {} ({}), elapsed {}, ETA ~{}\n", s.finished, s.to_run.size(), describe_job(plan, *job),
                 outcome, human_duration(rec.seconds),
                 human_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()),
                 human_duration(s.eta_seconds(o.jobs)));
      s.changed.notify_all();
    }
  };
  // The claims stay alive while this runner works, and are dropped when it stops for any
  // reason (a killed runner's expire instead).
  std::mutex beat_mutex;
  std::condition_variable beat_stop;
  bool stopping = false;
  std::thread beat([&] {
    std::unique_lock lock(beat_mutex);
    while (!beat_stop.wait_for(lock, std::chrono::duration<double>(kClaimExpirySeconds / 6), [&] { return stopping; }))
      store.heartbeat(s.runner, unix_seconds());
  });
  auto stop_beating = [&] {
    {
      std::lock_guard lock(beat_mutex);
      stopping = true;
    }
    beat_stop.notify_all();
    beat.join();
    store.release(s.runner);
  };
  try {
    run_parts(size_t(o.jobs), [&](size_t) { worker(); });
  } catch (...) {
    stop_beating();
    throw;
  }
  stop_beating();
  check(!s.interrupted, "interrupted; finished jobs are in {}; run the study again to continue", summary.db);
  return summary;
}

std::vector<JobRecord> plan_records(const StudyPlan& plan, ResultStore& store) {
  std::set<std::string> keys;
  for (const auto& j : plan.jobs) keys.insert(j.key);
  std::vector<JobRecord> records = store.all();
  std::erase_if(records, [&](const JobRecord& r) { return !keys.count(r.key); });
  return records;
}

}  // namespace elab
