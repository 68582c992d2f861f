#include "study/shipped.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "core/fs.h"
#include "core/json_fields.h"
#include "model/adapters.h"
#include "study/plan.h"
#include "study/run.h"
#include "study/stages.h"

namespace elab {

// The files a base needs to load and to be recognised (train_log.jsonl stays behind).
static const char* kShippedFiles[] = {"config.json", "model.safetensors", "meta.json", "tokenizer.json"};

static std::string index_path(const std::string& dir) { return (fs::path(dir) / "index.json").string(); }

// Copies a base's files into `to` through a temporary sibling, then a rename, so that
// `to` is either the whole base or absent.
static void copy_base(const fs::path& from, const fs::path& to, const char* suffix) {
  const fs::path tmp = to.string() + suffix;
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  for (const char* f : kShippedFiles)
    if (fs::exists(from / f)) fs::copy_file(from / f, tmp / f);
  fs::remove_all(to);
  if (to.has_parent_path()) fs::create_directories(to.parent_path());
  fs::rename(tmp, to);
}

std::vector<ShippedBase> read_shipped(const std::string& dir) {
  const std::string path = index_path(dir);
  check(fs::exists(path), "shipped bases: {} does not exist", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON ({})", path, e.what());
  }
  check(j.is_object() && j.contains("bases") && j["bases"].is_array(), "{}: expected an object with a 'bases' array", path);
  std::vector<ShippedBase> out;
  for (size_t i = 0; i < j["bases"].size(); ++i) {
    const auto& b = j["bases"][i];
    const std::string where = fmt::format("{}: bases[{}]", path, i);
    check(b.is_object(), "{}: must be an object", where);
    ShippedBase s;
    s.name = json_required<std::string>(b, "name", where);
    check(!s.name.empty() && s.name.find('/') == std::string::npos && s.name.find("..") == std::string::npos,
          "{}: name '{}' must be a plain directory name", where, s.name);
    s.dir = (fs::path(dir) / s.name).string();
    s.key = json_required<std::string>(b, "key", where);
    s.spec = b.value("spec", nlohmann::json::object());
    s.command = json_field<std::string>(b, "command", where, "");
    s.content_hash = json_required<std::string>(b, "content_hash", where);
    if (b.contains("outcome")) s.outcome = std::get<PretrainOutcome>(job_result_from_json("pretrain", b["outcome"], where));
    for (const auto& c : b.value("checks", nlohmann::json::array()))
      s.checks.push_back({json_required<std::string>(c, "task", where), json_required<std::string>(c, "split", where),
                          json_required<std::string>(c, "method", where), json_required<int64_t>(c, "n", where),
                          json_required<double>(c, "accuracy", where), json_field<double>(c, "gold_logprob", where, 0),
                          json_field<uint64_t>(c, "seed", where, 1)});
    out.push_back(std::move(s));
  }
  return out;
}

PretrainOutcome install_shipped(const ShippedBase& base, const std::string& out) {
  check(fs::is_directory(base.dir), "shipped base {}: directory {} is missing; retrain the bases with "
        "`elab quickstart --from-scratch` (then `elab models ship`)", base.name, base.dir);
  const std::string hash = checkpoint_hash_matches(base.dir, base.content_hash) ? base.content_hash
                                                                                : checkpoint_hash(base.dir);
  check(hash == base.content_hash,
        "shipped base {}: its content hash {} does not match its record {} in {}; the files were changed or damaged. "
        "Restore them (git checkout models/), or retrain the bases with `elab quickstart --from-scratch` and record "
        "them with `elab models ship`", base.name, hash, base.content_hash, index_path(fs::path(base.dir).parent_path().string()));
  copy_base(base.dir, out, ".installing");
  return base.outcome;
}

std::string train_command(const PretrainJobSpec& p, const std::string& out) {
  std::string cmd = p.shape ? fmt::format("elab train --model-config <{}>", p.preset) : "elab train --preset " + p.preset;
  cmd += fmt::format(" --recipe {} --tokens {} --batch {} --seq-len {} --seed {}", p.recipe, p.tokens, p.batch, p.seq_len, p.seed);
  if (p.lr > 0) cmd += fmt::format(" --lr {}", p.lr);
  if (p.loss == LossTokens::answer) cmd += " --loss answer";
  if (p.precision != Precision::fp32) cmd += fmt::format(" --precision {}", precision_name(p.precision));
  cmd += fmt::format(" --workers {} --out {}", p.workers, out);
  return cmd;
}

// The checks of a base: the study's prompting cells, on the first n items, one thread.
static ShippedCheck measure(const std::string& model, const std::string& task, const std::string& split,
                            const std::string& method, int64_t n, uint64_t seed) {
  EvalJob job;
  job.model = model;
  job.task = task;
  job.spec.split = split;
  job.spec.method = method;
  job.spec.n = n;
  job.spec.seed = seed;
  job.spec.show_progress = false;
  job.workers = 1;
  const auto r = run_eval_job(job);
  return {task, split, method, r.summary.n, r.summary.accuracy, r.summary.metrics.gold_logprob.value_or(0), seed};
}

int ship_bases(const StudySpec& spec, ResultStore& store, const std::string& out, int64_t check_n) {
  check(check_n > 0, "--check-n must be positive, got {}", check_n);
  const StudyPlan plan = plan_study(spec);
  nlohmann::json bases = nlohmann::json::array();
  fs::create_directories(out);
  for (const auto& job : plan.jobs) {
    const auto* p = std::get_if<PretrainJobSpec>(&job.spec);
    if (!p) continue;
    const auto rec = store.find(job.key);
    check(rec && rec->status == "done", "pre-training job {} ({}) has not finished; run the study first", job.key,
          base_label(job.spec));
    std::string name = base_label(job.spec);
    for (char& c : name)
      if (c == '/') c = '-';
    const std::string from = model_dir(spec, job.key), to = (fs::path(out) / name).string();
    copy_base(from, to, ".shipping");
    nlohmann::json checks = nlohmann::json::array();
    // The base's prompting cells: the [[evaluate]] blocks and the fine-tuning blocks' own.
    std::vector<std::tuple<std::string, std::vector<std::string>, std::vector<std::string>>> cells;
    for (const auto& block : spec.evaluate)
      for (const auto& task : block.tasks) cells.push_back({task, block.splits, block.methods});
    for (const auto& block : spec.finetune)
      for (const auto& task : block.tasks) cells.push_back({task, block.evaluate.splits, block.evaluate.methods});
    for (const auto& [task, splits, methods] : cells)
        for (const auto& split : splits)
          for (const auto& method : methods) {
            const ShippedCheck c = measure(to, task, split, method, check_n, spec.seed);
            checks.push_back({{"task", c.task}, {"split", c.split}, {"method", c.method}, {"n", c.n},
                              {"accuracy", c.accuracy}, {"gold_logprob", c.gold_logprob}, {"seed", c.seed}});
          }
    const auto meta = nlohmann::json::parse(read_file(fs::path(to) / "meta.json"));
    bases.push_back({{"name", name},
                     {"key", job.key},
                     {"spec", to_json(job.spec)},
                     {"command", train_command(*p, "models/ladder/" + name)},
                     {"seed", p->seed},
                     {"data_hash", meta.value("data_hash", "")},
                     {"parameters", rec->pretrained() ? rec->pretrained()->parameters : 0},
                     {"content_hash", checkpoint_hash(to)},
                     {"bytes", fs::file_size(fs::path(to) / "model.safetensors")},
                     {"outcome", to_json(rec->result)},
                     {"checks", checks}});
    fmt::print(stderr, "shipped {} ({} checks)\n", name, checks.size());
  }
  check(!bases.empty(), "the study has no pre-training jobs to ship");
  write_file_atomic(index_path(out), nlohmann::json({{"study", spec.path}, {"bases", bases}}).dump(2) + "\n");
  return int(bases.size());
}

std::vector<std::string> verify_shipped(const ShippedBase& base) {
  std::vector<std::string> problems;
  const std::string hash = checkpoint_hash_matches(base.dir, base.content_hash) ? base.content_hash
                                                                                : checkpoint_hash(base.dir);
  if (hash != base.content_hash) problems.push_back(fmt::format("{}: content hash {} != recorded {}", base.name, hash, base.content_hash));
  for (const auto& c : base.checks) {
    const ShippedCheck now = measure(base.dir, c.task, c.split, c.method, c.n, c.seed);
    if (std::abs(now.accuracy - c.accuracy) > 1.0 / double(c.n) + 1e-12 || std::abs(now.gold_logprob - c.gold_logprob) > 1e-3)
      problems.push_back(fmt::format("{}: {} {} {} n={}: accuracy {:.4f} (recorded {:.4f}), gold log-prob {:.5f} (recorded {:.5f})",
                                     base.name, c.task, c.split, c.method, c.n, now.accuracy, c.accuracy, now.gold_logprob,
                                     c.gold_logprob));
  }
  return problems;
}

}  // namespace elab
