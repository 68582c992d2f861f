#include "study/plan.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/hash.h"
#include "eval/method.h"
#include "tasks/registry.h"

namespace elab {
namespace {

std::string job_key(const std::string& kind, const nlohmann::json& spec, const std::string& parent) {
  return hash_hex(kind + "\n" + spec.dump() + "\n" + parent);
}

struct Planner {
  StudyPlan plan;
  std::map<std::string, size_t> index;  // job key -> position in plan.jobs

  // Adds a job unless one with the same key exists; returns the job either way.
  const StudyJob& add(const std::string& kind, nlohmann::json spec, const std::string& parent, const std::string& group) {
    StudyJob j{job_key(kind, spec, parent), kind, std::move(spec), parent, group};
    if (j.group.empty()) j.group = j.key;
    auto [it, added] = index.emplace(j.key, plan.jobs.size());
    if (added) plan.jobs.push_back(std::move(j));
    return plan.jobs[it->second];
  }

  // Evaluations of one model on a task: every split the task has, every method; with
  // `snapshots`, the same on each of the model's snapshots too.
  void evals(const StudyJob& model, const std::string& task, const std::vector<std::string>& splits,
             const std::vector<std::string>& methods, int64_t n, uint64_t seed,
             const std::vector<int64_t>& snapshots = {}) {
    auto t = make_task(task);
    auto have = t->split_names();
    for (const auto& split : splits) {
      if (std::find(have.begin(), have.end(), split) == have.end()) {
        std::string note = fmt::format("task {} has no split {} (it has {})", task, split, fmt::join(have, ", "));
        if (std::find(plan.skipped.begin(), plan.skipped.end(), note) == plan.skipped.end()) plan.skipped.push_back(note);
        continue;
      }
      // The extraction rule's name and version are part of the key: a changed rule re-runs
      // exactly the evaluations that used it.
      for (const auto& m : methods) {
        nlohmann::json spec = {{"task", task}, {"split", split}, {"method", m},
                               {"n", n},       {"seed", seed},   {"extractor", t->extractor_id()}};
        add("eval", spec, model.key, model.group);
        for (int64_t step : snapshots) {
          spec["snapshot"] = step;
          add("eval", spec, model.key, model.group);
        }
      }
    }
  }
};

}  // namespace

StudyPlan plan_study(const StudySpec& s) {
  Planner p;
  // The bases: presets by name, then [[model]] / [[sweep]] shapes (named, with their shape).
  std::vector<std::pair<std::string, nlohmann::json>> bases;
  for (const auto& preset : s.presets) bases.push_back({preset, nullptr});
  for (const auto& m : s.models) bases.push_back({m.name, shape_json(m.shape)});
  std::vector<int64_t> snapshots;
  if (s.control.contains("save_at")) snapshots = s.control["save_at"].get<std::vector<int64_t>>();
  for (const auto& [name, shape] : bases)
    for (const auto& recipe : s.recipes)
      for (uint64_t seed : s.seeds) {
        nlohmann::json pre = {{"preset", name}, {"recipe", recipe}, {"seed", seed},     {"tokens", s.tokens},
                              {"batch", s.batch}, {"seq_len", s.seq_len}, {"lr", s.lr}, {"loss", s.loss}};
        // Only when not fp32 (or not a preset, or with experiment control): the keys of
        // studies from before stay as they were.
        if (s.precision != "fp32") pre["precision"] = s.precision;
        if (!shape.is_null()) pre["model"] = shape;
        if (!s.control.empty()) pre["control"] = s.control;
        // Copy: add() may grow the job list and move what a reference points at.
        const StudyJob base = p.add("pretrain", pre, "", "");
        for (const auto& block : s.evaluate)
          for (const auto& task : block.tasks)
            p.evals(base, task, block.splits, block.methods, block.n, s.seed,
                    block.snapshots ? snapshots : std::vector<int64_t>{});
        for (const auto& block : s.finetune)
          for (const auto& task : block.tasks) {
            // The base itself on the fine-tuning task: the prompting side of the comparison.
            p.evals(base, task, block.evaluate.splits, block.evaluate.methods, block.evaluate.n, s.seed);
            for (const auto& method : block.methods)
              for (int64_t n : block.n_train) {
                nlohmann::json ft_spec = {{"task", task}, {"method", method}, {"n_train", n}, {"seed", s.seed}};
                if (s.precision != "fp32") ft_spec["precision"] = s.precision;
                const StudyJob ft = p.add("finetune", ft_spec, base.key, base.group);
                p.evals(ft, task, block.evaluate.splits, block.evaluate.methods, block.evaluate.n, s.seed);
                for (const auto& other : block.evaluate.retention_tasks) {
                  std::vector<std::string> icl;  // retention: the in-context methods, on the other task
                  for (const auto& m : block.evaluate.methods)
                    if (parse_method(m).shots > 0) icl.push_back(m);
                  p.evals(ft, other, {"id"}, icl, block.evaluate.n, s.seed);
                  p.evals(base, other, {"id"}, icl, block.evaluate.n, s.seed);
                }
              }
          }
      }
  return p.plan;
}

std::vector<bool> shard_mask(const StudyPlan& plan, int shard, int shards) {
  std::map<std::string, size_t> group_index;  // pre-training groups in plan order
  for (const auto& j : plan.jobs)
    if (j.kind == "pretrain" && !group_index.count(j.key)) group_index.emplace(j.key, group_index.size());
  std::vector<bool> mask;
  for (const auto& j : plan.jobs) mask.push_back(shards <= 1 || int(group_index.at(j.group) % size_t(shards)) == shard);
  return mask;
}

}  // namespace elab
