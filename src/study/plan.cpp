#include "study/plan.h"

#include <algorithm>
#include <map>
#include <set>

#include "backends/registry.h"
#include "core/error.h"
#include "core/hash.h"
#include "eval/evaluate.h"
#include "eval/method.h"
#include "tasks/recipe.h"
#include "tasks/registry.h"

namespace elab {

std::string job_key(const JobSpec& spec, const std::string& parent) {
  return hash_hex(job_kind(spec) + "\n" + to_json(spec).dump() + "\n" + parent);
}

namespace {

// A block's `models` (empty: every base) names the base `name`.
bool applies_to(const std::vector<std::string>& models, const std::string& name) {
  return models.empty() || std::find(models.begin(), models.end(), name) != models.end();
}

// What the planner needs of a task, read once per task (a group builds every member,
// and file tasks read their files).
struct TaskFacts {
  std::vector<std::string> splits;  // a group has one, "test"
  std::string extractor;            // the strict rule's versioned id
  int version = 1;                  // its own, or for a group the sum of its members' (any change re-runs it)
  // "" when every member's test items have a closed answer set (likelihood scoring can
  // take it); else an item with an open answer, for the error.
  std::string open_answer;
};

// The first test item of a task whose answer set is open, as "TASK: 'ANSWER'"; "" when
// its first item has options (tasks/task.h answer_options).
std::string open_answer_of(const Task& t) {
  const Example e = t.example(t.default_split(), Pool::test, 1, 0);
  return t.answer_options(e).empty() ? fmt::format("{} (its answers are open, e.g. '{}')", t.name(), e.answer) : "";
}

TaskFacts read_task_facts(const std::string& spec) {
  TaskFacts f;
  const auto members = task_group(spec);
  if (members.empty()) {
    auto t = make_task(spec);
    f.splits = t->split_names();
    f.extractor = t->extractor_id();
    f.version = t->version();
    f.open_answer = open_answer_of(*t);
    return f;
  }
  f.splits = {"test"};
  f.version = 0;
  for (const auto& m : members) {
    auto t = make_task(m);
    if (f.extractor.empty()) f.extractor = t->extractor_id();
    f.version += t->version();
    if (f.open_answer.empty()) f.open_answer = open_answer_of(*t);
  }
  return f;
}

struct Planner {
  const StudySpec& study;
  StudyPlan plan;
  std::map<std::string, size_t> index;  // job key -> position in plan.jobs
  std::map<std::string, TaskFacts> facts_by_task;

  const TaskFacts& facts(const std::string& task) {
    auto it = facts_by_task.find(task);
    if (it == facts_by_task.end()) it = facts_by_task.emplace(task, read_task_facts(task)).first;
    return it->second;
  }

  // Adds a job unless one with the same key exists; returns a copy (adding may move the list).
  StudyJob add(JobSpec spec, const std::string& parent, const std::string& group) {
    StudyJob j{job_key(spec, parent), std::move(spec), parent, group};
    if (j.group.empty()) j.group = j.key;
    auto [it, added] = index.emplace(j.key, plan.jobs.size());
    if (added) plan.jobs.push_back(std::move(j));
    return plan.jobs[it->second];
  }

  // N examples must exist in the task's training pool: refused at planning, naming the job.
  std::set<std::pair<std::string, int64_t>> pools_checked;
  void check_training_pool(const std::string& task, int64_t n, uint64_t seed) {
    if (!pools_checked.insert({task, n}).second) return;
    try {
      exemplars(*make_task(task), n, seed);
    } catch (const Error& e) {
      fail("study {}: [[finetune]] on {} with n_train = {}: {}", study.name, task, n, e.what());
    }
  }

  // Evaluations of one model on a task: every split the task has, every method; with
  // `snapshots`, the same on each of the model's snapshots too.
  void evals(const StudyJob& model, const std::string& task, const std::vector<std::string>& splits,
             const std::vector<std::string>& methods, int64_t n, uint64_t seed,
             const std::map<std::string, std::string>& settings, const std::vector<int64_t>& snapshots = {}) {
    const TaskFacts& t = facts(task);
    const auto& have = t.splits;
    for (const auto& split : splits) {
      // A split the task lacks is refused (not skipped): the study would answer less than it asks.
      check(std::find(have.begin(), have.end(), split) != have.end(),
            "study {}: the evaluations of {} on task {} ask for split {}, which the task does not have (it has {}); "
            "list only its splits (a block per task when their splits differ)",
            study.name, base_label(model.spec), task, split, fmt::join(have, ", "));
      for (const auto& m : methods) {
        // Likelihood scoring needs a closed answer set and a model that can be scored:
        // refused here, before anything runs.
        if (parse_method(m).likelihood) {
          check(t.open_answer.empty(), "study {}: method {} scores the options of a closed answer set, and task {}; use "
                "a generation method for it", study.name, m, t.open_answer);
          if (const auto* src = std::get_if<SourceJobSpec>(&model.spec)) {
            const BackendEntry& backend = backend_for(src->model);
            check(backend.can_score, "study {}: method {} needs log-likelihoods, and {} ({}) cannot give them; use a "
                  "generation method for it", study.name, m, src->name, backend.usage);
          }
        }
        EvalJobSpec e;
        e.task = task, e.split = split, e.method = m, e.n = n, e.seed = seed;
        // The extraction rule's name and version: a changed rule re-runs exactly the
        // evaluations that used it.
        e.extractor = t.extractor;
        e.task_version = t.version;
        e.workers = study.workers;
        e.settings = settings;
        add(e, model.key, model.group);
        for (int64_t step : snapshots) {
          e.snapshot = step;
          add(e, model.key, model.group);
        }
      }
    }
  }

  // A base's evaluation blocks and fine-tuning blocks; `seed` draws their items, exemplars
  // and fine-tuning examples.
  void children(const StudyJob& base, const std::string& name, const std::vector<int64_t>& snapshots, uint64_t seed) {
    for (const auto& block : study.evaluate) {
      if (!applies_to(block.models, name)) continue;
      for (const auto& task : block.tasks)
        evals(base, task, block.splits, block.methods, block.n, seed, block.settings, block.snapshots ? snapshots : std::vector<int64_t>{});
    }
    for (const auto& block : study.finetune) {
      if (!applies_to(block.models, name)) continue;
      for (const auto& task : block.tasks) {
        // The base itself on the fine-tuning task: the prompting side of the comparison.
        evals(base, task, block.evaluate.splits, block.evaluate.methods, block.evaluate.n, seed, block.evaluate.settings);
        for (const auto& method : block.methods)
          for (int64_t n : block.n_train) {
            check_training_pool(task, n, seed);
            FinetuneJobSpec f;
            f.task = task, f.method = method, f.n_train = n, f.seed = seed, f.precision = study.precision;
            f.task_version = facts(task).version;
            f.steps = block.steps, f.batch = block.batch, f.folds = block.folds;
            f.settings = block.settings;
            f.workers = study.workers;
            const StudyJob ft = add(f, base.key, base.group);
            evals(ft, task, block.evaluate.splits, block.evaluate.methods, block.evaluate.n, seed, block.evaluate.settings);
            for (const auto& entry : block.evaluate.retention_tasks) {
              // Retention, on another task: TASK with the block's in-context methods on id, or
              // TASK@SPLIT[@METHOD] (a task whose problems hold their own context, as iclass's).
              const EvalTaskSpec other = parse_eval_task(entry);
              std::vector<std::string> methods;
              if (entry.find('@') != std::string::npos) methods = {other.method};
              else
                for (const auto& m : block.evaluate.methods)
                  if (parse_method(m).shots > 0) methods.push_back(m);
              const std::vector<std::string> splits = {other.split.empty() ? std::string("id") : other.split};
              evals(ft, other.task, splits, methods, block.evaluate.n, seed, block.evaluate.settings);
              evals(base, other.task, splits, methods, block.evaluate.n, seed, block.evaluate.settings);
            }
          }
      }
    }
  }
};

}  // namespace

// A [[model]]'s own training keys over [pretrain]'s. Its epochs replace [pretrain]'s
// tokens and its tokens replace [pretrain]'s epochs: a run has one length.
static void apply_own_training(const ModelEntry& own, PretrainJobSpec& pre) {
  if (own.lr > 0) pre.lr = own.lr;
  if (own.batch > 0) pre.batch = own.batch;
  if (own.tokens > 0) pre.tokens = own.tokens, pre.settings.erase("epochs");
  if (own.settings.contains("epochs")) pre.tokens = 0;
  for (const auto& [key, value] : own.settings.items()) pre.settings[key] = value;
}

StudyPlan plan_study(const StudySpec& s) {
  Planner p{s, {}, {}};
  // The bases: presets by name, then [[model]] / [[sweep]] shapes (named, with their shape).
  // A [[model]] also brings its own training keys, over [pretrain]'s.
  std::vector<std::pair<std::string, const ModelEntry*>> bases;
  for (const auto& preset : s.presets) bases.push_back({preset, nullptr});
  for (const auto& m : s.models) bases.push_back({m.name, &m});
  // The data's versions, per recipe: every task of the recipe, and the recipe's own text.
  std::map<std::string, std::pair<std::map<std::string, int>, std::string>> data_of;
  for (const auto& recipe_name : s.recipes) {
    const Recipe recipe = find_recipe(recipe_name);
    auto& [versions, hash] = data_of[recipe_name];
    for (const auto& entry : recipe.entries) versions[entry.task] = p.facts(entry.task).version;
    hash = hash_hex(recipe.describe());
  }
  for (const auto& [name, own] : bases) {
    const std::vector<int64_t> snapshots = snapshot_steps(s, name);
    for (const auto& recipe_name : s.recipes)
      for (uint64_t seed : s.seeds) {
        PretrainJobSpec pre;
        pre.preset = name, pre.recipe = recipe_name, pre.seed = seed;
        if (own) pre.shape = own->shape;
        pre.tokens = s.tokens, pre.batch = s.batch, pre.seq_len = s.seq_len, pre.lr = s.lr, pre.loss = s.loss;
        pre.precision = s.precision;
        pre.settings = s.pretrain_settings;
        if (own) apply_own_training(*own, pre);
        std::tie(pre.data_versions, pre.recipe_hash) = data_of.at(recipe_name);
        pre.workers = s.workers;
        p.children(p.add(pre, "", ""), name, snapshots, s.seed);
      }
  }
  for (const auto& src : s.sources) {
    const std::string why = backend_for(src.model).cannot_train;
    const bool tuned = std::any_of(s.finetune.begin(), s.finetune.end(),
                                   [&](const FinetuneBlock& b) { return applies_to(b.models, src.name); });
    check(why.empty() || !tuned,
          "study {}: [[model]] '{}' ({}) cannot be fine-tuned ({}), and a [[finetune]] block applies to it; "
          "leave it out of the block's models (or evaluate it in a study without [[finetune]])", s.name, src.name, src.model, why);
    // A source has no pre-training seeds; the study's seeds replicate its evaluations and
    // fine-tunings on other draws of items, exemplars and examples instead.
    const bool one_seed = s.seeds.size() == 1 && s.seeds[0] == s.seed;
    for (uint64_t seed : s.seeds)
      p.children(p.add(SourceJobSpec{src.name, src.model, src.args, one_seed ? 0 : seed}, "", ""), src.name, {}, seed);
  }
  return p.plan;
}

std::vector<bool> shard_mask(const StudyPlan& plan, int shard, int shards) {
  std::map<std::string, size_t> group_index;  // base groups in plan order
  for (const auto& j : plan.jobs)
    if (j.parent.empty() && !group_index.count(j.key)) group_index.emplace(j.key, group_index.size());
  std::vector<bool> mask;
  for (const auto& j : plan.jobs) mask.push_back(shards <= 1 || int(group_index.at(j.group) % size_t(shards)) == shard);
  return mask;
}

std::string describe_job(const StudyPlan& plan, const StudyJob& job) {
  auto find = [&](const std::string& key) -> const StudyJob* {
    for (const auto& j : plan.jobs)
      if (j.key == key) return &j;
    return nullptr;
  };
  const StudyJob* base = find(job.group);
  const std::string label = base ? base_label(base->spec) : job.group;
  if (const auto* f = std::get_if<FinetuneJobSpec>(&job.spec))
    return fmt::format("finetune {} {} {} N={}", label, f->method, f->task, f->n_train);
  if (const auto* e = std::get_if<EvalJobSpec>(&job.spec)) {
    std::string model = label;
    if (const StudyJob* parent = find(job.parent))
      if (const auto* f = std::get_if<FinetuneJobSpec>(&parent->spec)) model += fmt::format("+ft:{}:{}", f->method, f->n_train);
    if (e->snapshot > 0) model += fmt::format("@step{}", e->snapshot);
    return fmt::format("eval {} {} {} {}", model, e->task, e->split, e->method);
  }
  return job.kind() + " " + label;
}

}  // namespace elab
