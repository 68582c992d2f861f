#include "study/spec.h"

#include "results/importers.h"
#include "study/job_spec.h"
#include "study/pretrain_settings.h"
#include "tasks/file_task.h"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>

#include "backends/registry.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/names.h"
#include "eval/eval_settings.h"
#include "eval/method.h"
#include "model/config.h"
#include "tasks/recipe.h"
#include "tasks/registry.h"
#include "train/finetune.h"
#include "train/finetune_settings.h"

namespace elab {
namespace {

std::string where(const std::string& path, const toml::node& n, const std::string& key) {
  return fmt::format("{}:{}: {}", path, n.source().begin.line, key);
}

void known_keys(const toml::table& t, const std::string& path, const std::string& section,
                const std::vector<std::string>& known) {
  for (auto&& [k, v] : t)
    if (std::find(known.begin(), known.end(), std::string(k.str())) == known.end())
      fail("{}:{}: unknown key '{}' in {} (known: {})", path, v.source().begin.line, k.str(), section,
           fmt::join(known, ", "));
}

std::vector<std::string> strings(const toml::table& t, const std::string& key, const std::string& path, bool required) {
  const toml::node* n = t.get(key);
  if (!n) {
    check(!required, "{}: missing key '{}'", path, key);
    return {};
  }
  const toml::array* a = n->as_array();
  check(a != nullptr, "{}: must be a list of strings", where(path, *n, key));
  std::vector<std::string> out;
  for (const auto& x : *a) {
    auto s = x.value<std::string>();
    check(s.has_value(), "{}: must be a list of strings", where(path, x, key));
    out.push_back(*s);
  }
  check(!required || !out.empty(), "{}: must not be empty", where(path, *n, key));
  return out;
}

template <typename T>
T number(const toml::table& t, const std::string& key, T fallback, const std::string& path) {
  const toml::node* n = t.get(key);
  if (!n) return fallback;
  auto v = n->value<T>();
  check(v.has_value(), "{}: must be a number", where(path, *n, key));
  return *v;
}

std::vector<int64_t> integers(const toml::table& t, const std::string& key, const std::string& path) {
  const toml::node* n = t.get(key);
  check(n != nullptr, "{}: missing key '{}'", path, key);
  const toml::array* a = n->as_array();
  check(a != nullptr && !a->empty(), "{}: must be a non-empty list of integers", where(path, *n, key));
  std::vector<int64_t> out;
  for (const auto& x : *a) {
    auto v = x.value<int64_t>();
    check(v.has_value() && *v > 0, "{}: must be a list of positive integers", where(path, x, key));
    out.push_back(*v);
  }
  return out;
}

const toml::table& table_at(const toml::table& t, const std::string& key, const std::string& path) {
  const toml::node* n = t.get(key);
  check(n != nullptr, "{}: missing [{}]", path, key);
  check(n->is_table(), "{}: must be a table", where(path, *n, key));
  return *n->as_table();
}

EvalBlock eval_block(const toml::table& t, const std::string& path, const std::string& section, bool finetune) {
  std::vector<std::string> known = {"tasks", "splits", "methods", "n", "snapshots", "models"};
  if (finetune) known = {"splits", "methods", "n", "retention_tasks"};
  for (const auto& setting : eval_settings()) known.push_back(setting.key);
  known_keys(t, path, section, known);
  EvalBlock b;
  if (!finetune) b.tasks = strings(t, "tasks", path, true);
  if (!finetune) b.models = strings(t, "models", path, false);
  b.splits = strings(t, "splits", path, false);
  if (b.splits.empty()) b.splits = {"id"};
  b.methods = strings(t, "methods", path, true);
  if (const toml::node* n = t.get("n"); n && n->is_string()) {
    check(n->value<std::string>() == "all", "{}: must be a positive number or \"all\"", where(path, *n, "n"));
    b.n = -1;  // every item of the test pool (eval/evaluate.h kAllItems)
  } else {
    b.n = number<int64_t>(t, "n", 0, path);
    check(t.get("n") == nullptr || b.n > 0, "{}: {} n must be positive or \"all\"", path, section);
  }
  if (finetune) b.retention_tasks = strings(t, "retention_tasks", path, false);
  if (const toml::node* n = t.get("snapshots")) {
    check(n->is_boolean(), "{}: must be true or false", where(path, *n, "snapshots"));
    b.snapshots = *n->value<bool>();
  }
  for (const auto& m : b.methods) {
    try {
      parse_method(m);
    } catch (const Error& e) {
      fail("{}: {}: {}", path, section, e.what());
    }
  }
  // Its evaluation settings, as the command line takes them, checked now.
  for (const auto& setting : eval_settings()) {
    const toml::node* v = t.get(setting.key);
    if (!v) continue;
    const std::string at = where(path, *v, setting.key);
    if (setting.yes_no) {
      check(v->is_boolean(), "{}: must be true or false", at);
      b.settings[setting.key] = *v->value<bool>() ? "true" : "false";
    } else {
      check(v->is_integer(), "{}: must be an integer", at);
      b.settings[setting.key] = std::to_string(*v->value<int64_t>());
    }
    EvalSpec check_only;
    apply_eval_settings(check_only, {{setting.key, b.settings[setting.key]}}, path + ": " + section);
  }
  return b;
}

const std::vector<std::string> kShapeKeys = {"preset", "d_model", "layers", "heads", "kv_heads", "ffn",
                                             "max_seq_len", "rope_theta", "mlp", "tie"};

// The shape keys of a [[model]] or [[sweep]] table.
ModelShape shape_from_table(const toml::table& t, const std::string& path) {
  ModelShape m;
  m.preset = t["preset"].value_or(std::string());
  m.d_model = int(number<int64_t>(t, "d_model", 0, path));
  m.layers = int(number<int64_t>(t, "layers", 0, path));
  m.heads = int(number<int64_t>(t, "heads", 0, path));
  m.kv_heads = int(number<int64_t>(t, "kv_heads", 0, path));
  m.ffn = int(number<int64_t>(t, "ffn", -1, path));
  m.max_seq_len = int(number<int64_t>(t, "max_seq_len", 0, path));
  m.rope_theta = number<double>(t, "rope_theta", 0.0, path);
  m.mlp = t["mlp"].value_or(std::string());
  if (const toml::node* n = t.get("tie")) {
    check(n->is_boolean(), "{}: must be true or false", where(path, *n, "tie"));
    m.no_tie = !*n->value<bool>();
  }
  return m;
}

// A TOML value as JSON: strings, integers, floating-point numbers and lists of them.
nlohmann::json json_of(const toml::node& n, const std::string& at) {
  if (auto v = n.value_exact<std::string>()) return *v;
  if (auto v = n.value_exact<int64_t>()) return *v;
  if (auto v = n.value_exact<double>()) return *v;
  if (const toml::array* a = n.as_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& x : *a) out.push_back(json_of(x, at));
    return out;
  }
  fail("{}: must be a string, a number or a list of them", at);
}

// The pre-training settings of [pretrain] (study/pretrain_settings.h): those given, checked.
nlohmann::json pretrain_settings_of(const toml::table& pre, const std::string& path) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& setting : pretrain_settings())
    if (const toml::node* n = pre.get(setting.key)) {
      const std::string at = where(path, *n, setting.key);
      out[setting.key] = pretrain_setting_value(setting, json_of(*n, at), at);
    }
  return out;
}

// A task or a task group (bbh:all) by name: an Error when neither.
void check_study_task(const std::string& task) {
  if (task_group(task).empty()) make_task(task);
}

}  // namespace

// [[results]]: importer, and paths (relative to the study file) or data (relative to the
// data root, $ELAB_DATA or ../shared/data); mapping and meta relative to the study file.
static std::vector<ResultsBlock> results_blocks(const toml::table& t, const std::string& path) {
  std::vector<ResultsBlock> out;
  const toml::node* n = t.get("results");
  if (!n) return out;
  const auto* blocks = n->as_array();
  check(blocks != nullptr, "{}: use [[results]] (an array of tables)", where(path, *n, "results"));
  const fs::path dir = fs::path(path).parent_path();
  for (size_t i = 0; i < blocks->size(); ++i) {
    const auto* b = (*blocks)[i].as_table();
    ResultsBlock r;
    r.where = fmt::format("{}: [[results]] {}", path, i + 1);
    check(b != nullptr, "{} is not a table", r.where);
    known_keys(*b, path, fmt::format("[[results]] {}", i + 1), {"importer", "paths", "data", "mapping", "meta"});
    r.importer = (*b)["importer"].value_or(std::string());
    check(!r.importer.empty(), "{} needs importer (lm-eval or csv)", r.where);
    find_importer(r.importer);  // unknown names list the valid ones
    for (const auto& p : b->get("paths") ? strings(*b, "paths", path, false) : std::vector<std::string>{})
      r.paths.push_back((dir / p).lexically_normal().string());
    for (const auto& p : b->get("data") ? strings(*b, "data", path, false) : std::vector<std::string>{})
      r.paths.push_back(data_path(p, r.where + " data"));
    check(!r.paths.empty(), "{} needs paths (relative to the study file) or data (relative to the data root)", r.where);
    if (auto m = (*b)["mapping"].value<std::string>()) r.mapping = (dir / *m).lexically_normal().string();
    if (auto m = (*b)["meta"].value<std::string>()) r.meta = (dir / *m).lexically_normal().string();
    check(r.importer != "csv" || !r.mapping.empty(), "{}: the csv importer needs mapping (a column mapping TOML)", r.where);
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// A study's [[NAME]] entries: an array of tables, each checked to be one.
std::vector<const toml::table*> array_tables(const toml::table& t, const char* key, const std::string& path) {
  std::vector<const toml::table*> out;
  if (const toml::node* n = t.get(key)) {
    const toml::array* a = n->as_array();
    check(a != nullptr, "{}: use [[{}]] (an array of tables)", where(path, *n, key), key);
    for (const auto& x : *a) {
      check(x.is_table(), "{}: [[{}]] entries must be tables", where(path, x, key), key);
      out.push_back(x.as_table());
    }
  }
  return out;
}

// [reproduce]: the published result, its setting and numbers, ours, and the criterion
// (study/reproduce.h), every text required: a reproduction states them before it runs.
ReproduceSpec read_reproduce(const toml::table& r, const std::string& path) {
  known_keys(r, path, "[reproduce]", {"paper", "published", "setting", "figure", "published_a", "published_b", "criterion"});
  auto text = [&](const toml::table& t, const std::string& key, const std::string& section) {
    auto v = t[key].value<std::string>();
    check(v.has_value() && !v->empty(), "{}: {} needs '{}' (text)", path, section, key);
    return *v;
  };
  ReproduceSpec out;
  out.paper = text(r, "paper", "[reproduce]");
  out.published = text(r, "published", "[reproduce]");
  out.setting = text(r, "setting", "[reproduce]");
  out.figure = text(r, "figure", "[reproduce]");
  for (auto [key, value] : {std::pair{"published_a", &out.published_a}, {"published_b", &out.published_b}})
    if (r.get(key)) {
      const double v = number<double>(r, key, 0.0, path);
      check(v >= 0 && v <= 1, "{}: [reproduce] {} is a published accuracy, in [0, 1]; got {}", path, key, v);
      *value = v;
    }
  const toml::table* c = r["criterion"].as_table();
  check(c != nullptr, "{}: [reproduce] needs a criterion table ([reproduce.criterion]: a, b, direction, threshold, min_seeds)",
        path);
  known_keys(*c, path, "[reproduce.criterion]",
             {"kind", "a", "b", "direction", "threshold", "min_seeds", "low", "high", "min_share"});
  ReproduceCriterion& k = out.criterion;
  k.kind = (*c)["kind"].value_or(std::string("difference"));
  check(k.kind == "difference" || k.kind == "seed_split",
        "{}: [reproduce.criterion] kind must be difference or seed_split, got '{}'", path, k.kind);
  if (k.seed_split()) {
    k.low = number<double>(*c, "low", k.low, path);
    k.high = number<double>(*c, "high", k.high, path);
    k.min_share = number<double>(*c, "min_share", k.min_share, path);
    check(0 <= k.low && k.low < k.high && k.high <= 1,
          "{}: [reproduce.criterion] needs 0 <= low < high <= 1 (accuracies), got low {} and high {}", path, k.low, k.high);
    check(k.min_share > 0 && k.min_share <= 0.5, "{}: [reproduce.criterion] min_share is a share of seeds in (0, 0.5], got {}",
          path, k.min_share);
  } else {
    for (const char* key : {"low", "high", "min_share"})
      check(!c->get(key), "{}: [reproduce.criterion] {} belongs to kind = \"seed_split\"", path, key);
  }
  k.a = parse_cell_ref(text(*c, "a", "[reproduce.criterion]"), path + ": [reproduce.criterion] a");
  if (c->get("b")) k.b = parse_cell_ref(text(*c, "b", "[reproduce.criterion]"), path + ": [reproduce.criterion] b");
  k.direction = (*c)["direction"].value_or(std::string("greater"));
  check(k.direction == "greater" || k.direction == "less", "{}: [reproduce.criterion] direction must be greater or less, got '{}'",
        path, k.direction);
  k.threshold = number<double>(*c, "threshold", 0.0, path);
  check(!out.published_b || k.b, "{}: [reproduce] published_b needs a criterion with b", path);
  check(k.b || (k.threshold >= 0 && k.threshold <= 1), "{}: [reproduce.criterion] threshold of an accuracy must be in [0, 1], got {}",
        path, k.threshold);
  k.min_seeds = int(number<int64_t>(*c, "min_seeds", 1, path));
  check(k.min_seeds >= 1, "{}: [reproduce.criterion] min_seeds must be at least 1, got {}", path, k.min_seeds);
  return out;
}

// [study]: the name, the seeds (distinct), the directory, the workers of each job.
void read_study_table(const toml::table& t, const std::string& path, StudySpec& s) {
  const auto& study = table_at(t, "study", path);
  known_keys(study, path, "[study]", {"name", "seed", "seeds", "dir", "workers"});
  auto name = study["name"].value<std::string>();
  check(name.has_value() && !name->empty(), "{}: [study] needs a name", path);
  check(name->find_first_of("/\\ ") == std::string::npos, "{}: study name '{}' must not contain '/', '\\' or spaces",
        path, *name);
  s.name = *name;
  s.seed = uint64_t(number<int64_t>(study, "seed", 1, path));
  if (study.get("seeds")) {
    s.seeds.clear();
    for (int64_t v : integers(study, "seeds", path)) s.seeds.push_back(uint64_t(v));
    // A repeated seed is the same model twice: pooled, it would narrow the intervals over
    // seeds with no new evidence.
    check(!s.seeds.empty(), "{}: [study] seeds is empty; give at least one pre-training seed", path);
    std::vector<uint64_t> sorted = s.seeds;
    std::sort(sorted.begin(), sorted.end());
    check(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
          "{}: [study] seeds repeats a seed ({}); each seed is one independently trained base, so the intervals over "
          "seeds need distinct ones", path, fmt::join(s.seeds, ", "));
  } else {
    s.seeds = {s.seed};
  }
  s.dir = study["dir"].value_or((fs::path("studies") / s.name).string());
  s.workers = number<int64_t>(study, "workers", 2, path);
  check(s.workers >= 1, "{}: [study] workers must be at least 1, got {}", path, s.workers);
}

// The training keys a [[model]] may give over [pretrain]'s: lr, tokens, batch, and the
// settings of study/pretrain_settings.h.
std::vector<std::string> training_keys() {
  std::vector<std::string> keys = {"lr", "tokens", "batch"};
  for (const auto& setting : pretrain_settings()) keys.push_back(setting.key);
  return keys;
}

// One training key's value onto a base, checked; `at` names where it was given.
void set_training_key(ModelEntry& m, const std::string& key, const nlohmann::json& value, const std::string& at) {
  if (key == "lr" || key == "tokens" || key == "batch") {
    check(value.is_number() && value.get<double>() > 0, "{}: must be a positive number, got {}", at, value.dump());
    if (key == "lr") m.lr = value.get<double>();
    else {
      check(value.is_number_integer(), "{}: must be a positive integer, got {}", at, value.dump());
      (key == "tokens" ? m.tokens : m.batch) = value.get<int64_t>();
    }
    return;
  }
  m.settings[key] = pretrain_setting_value(*find_pretrain_setting(key), value, at);
}

// "1e-3" rather than "0.001000": a rung's name shows the value as it reads best.
std::string value_text(const nlohmann::json& v) {
  if (v.is_number_float()) return fmt::format("{:g}", v.get<double>());
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// The bases beyond presets: [[model]] tables (a shape, or a source from outside that is
// never pre-trained), then the rungs of each [[sweep]] (one factor varied: a dimension of
// the shape, or a training key). Names are unique: they label every job and cell.
void read_bases(const toml::table& t, const std::string& path, StudySpec& s) {
  auto add_model = [&](ModelEntry m, const std::string& section, const std::string& suffix = "") {
    try {
      const ResolvedModel r = resolve_model(m.shape);
      if (m.name.empty()) m.name = r.name + suffix;
    } catch (const Error& e) {
      fail("{}: {}: {}", path, section, e.what());
    }
    for (const auto& other : s.models)
      check(other.name != m.name, "{}: {}: a second base named '{}'; give each [[model]] its own name", path, section,
            m.name);
    s.models.push_back(std::move(m));
  };
  const std::vector<std::string> training = training_keys();
  auto read_training = [&](const toml::table& table, ModelEntry& m) {
    for (const auto& key : training)
      if (const toml::node* n = table.get(key)) set_training_key(m, key, json_of(*n, where(path, *n, key)), where(path, *n, key));
  };
  int index = 0;
  for (const toml::table* m : array_tables(t, "model", path)) {
    const std::string section = fmt::format("[[model]] {}", ++index);
    if (m->get("source")) {
      known_keys(*m, path, section, {"name", "source", "args"});
      SourceEntry src{(*m)["name"].value_or(std::string()), (*m)["source"].value_or(std::string()),
                      (*m)["args"].value_or(std::string())};
      check(!src.name.empty(), "{}: {}: a model with a source needs a name", path, section);
      check(!src.model.empty(), "{}: {}: source must be a model directory, openai:URL#MODEL or replay:FILE", path, section);
      // A model directory or GGUF file is found relative to the study file, as `shipped` is.
      if (backend_for(src.model).scheme.empty() && fs::path(src.model).is_relative())
        src.model = (fs::path(path).parent_path() / src.model).lexically_normal().string();
      try {
        parse_backend_args(src.args);
      } catch (const Error& e) {
        fail("{}: {}: {}", path, section, e.what());
      }
      s.sources.push_back(src);
      continue;
    }
    std::vector<std::string> known = kShapeKeys;
    known.push_back("name");
    known.insert(known.end(), training.begin(), training.end());
    known_keys(*m, path, section, known);
    ModelEntry entry{(*m)["name"].value_or(std::string()), shape_from_table(*m, path)};
    read_training(*m, entry);
    add_model(std::move(entry), section);
  }
  index = 0;
  for (const toml::table* w : array_tables(t, "sweep", path)) {
    const std::string section = fmt::format("[[sweep]] {}", ++index);
    std::vector<std::string> known = kShapeKeys;
    known.insert(known.end(), {"vary", "values"});
    known.insert(known.end(), training.begin(), training.end());
    known_keys(*w, path, section, known);
    const std::string vary = (*w)["vary"].value_or(std::string());
    const std::vector<std::string> dimensions = {"d_model", "layers", "heads", "kv_heads", "ffn"};
    const bool dimension = std::find(dimensions.begin(), dimensions.end(), vary) != dimensions.end();
    if (!dimension && std::find(training.begin(), training.end(), vary) == training.end()) {
      std::vector<std::string> factors = dimensions;
      factors.insert(factors.end(), training.begin(), training.end());
      fail_unknown(fmt::format("{}: {}: factor to vary", path, section), vary, factors);
    }
    check(!w->get(vary), "{}: {}: '{}' is varied, so it takes its values from `values`, not a fixed value", path, section,
          vary);
    ModelEntry fixed{"", shape_from_table(*w, path)};
    read_training(*w, fixed);
    if (dimension) {
      for (int64_t v : integers(*w, "values", path)) {
        ModelEntry m = fixed;
        (vary == "d_model" ? m.shape.d_model : vary == "layers" ? m.shape.layers : vary == "heads" ? m.shape.heads
                                                                : vary == "kv_heads" ? m.shape.kv_heads : m.shape.ffn) = int(v);
        add_model(std::move(m), fmt::format("{} {} = {}", section, vary, v));
      }
      continue;
    }
    // A training key: one rung per value, named after the shape and the value.
    const toml::node* values = w->get("values");
    const toml::array* list = values ? values->as_array() : nullptr;
    check(list != nullptr && !list->empty(), "{}: {}: values must be a non-empty list", path, section);
    for (const auto& x : *list) {
      const std::string at = fmt::format("{} ({})", where(path, x, "values"), vary);
      ModelEntry m = fixed;
      const nlohmann::json v = json_of(x, at);
      set_training_key(m, vary, v, at);
      add_model(std::move(m), fmt::format("{} {} = {}", section, vary, value_text(v)), fmt::format(":{}={}", vary, value_text(v)));
    }
  }
}

// [pretrain]'s training settings (its presets and shipped bases are read with the bases).
void read_pretrain_settings(const toml::table& pre, const std::string& path, StudySpec& s) {
  s.pretrain_settings = pretrain_settings_of(pre, path);
  const bool epochs = s.pretrain_settings.contains("epochs"), fixed_set = s.pretrain_settings.contains("train_examples");
  s.recipes = strings(pre, "recipes", path, !s.presets.empty() || !s.models.empty());
  for (const auto& p : s.presets) find_preset(p);  // unknown names list the valid ones
  for (const auto& r : s.recipes) find_recipe(r);
  s.tokens = number<int64_t>(pre, "tokens", epochs ? 0 : 1000000, path);
  if (const toml::node* b = pre.get("batch"); b && b->is_string()) {
    check(b->value<std::string>() == "all" && fixed_set,
          "{}: must be a number, or \"all\" with train_examples (full-batch training)", where(path, *b, "batch"));
    s.batch = -1;  // study/stages.h kBatchAll
  } else {
    s.batch = number<int64_t>(pre, "batch", 32, path);
  }
  s.seq_len = number<int64_t>(pre, "seq_len", 128, path);
  s.lr = number<double>(pre, "lr", 0.0, path);
  s.loss = parse_loss_tokens(pre["loss"].value_or(std::string("all")), path + ": [pretrain] loss");
  check((s.tokens > 0 || epochs) && (s.batch > 0 || s.batch == -1) && s.seq_len > 0,
        "{}: [pretrain] tokens (or epochs), batch and seq_len must be positive", path);
  s.precision = parse_precision(pre["precision"].value_or(std::string("fp32")), path + ": [pretrain] precision");
}

// One [[finetune]] block: tasks, methods, N, the selection's settings, its evaluations.
FinetuneBlock finetune_block(const toml::table& b, const std::string& path, const std::string& section) {
  std::vector<std::string> keys = {"tasks", "methods", "n_train", "evaluate", "models"};
  for (const auto& setting : finetune_settings()) keys.push_back(setting.key);
  known_keys(b, path, section, keys);
  FinetuneBlock f;
  f.tasks = strings(b, "tasks", path, true);
  f.models = strings(b, "models", path, false);
  for (auto [key, v] : {std::pair{"steps", &f.steps}, {"batch", &f.batch}, {"folds", &f.folds}}) {
    *v = number<int64_t>(b, key, 0, path);
    check(b.get(key) == nullptr || *v > 0, "{}: {} {} must be a positive integer", path, section, key);
  }
  for (const auto& task : f.tasks) make_task(task);  // fine-tuning needs one task, not a group
  f.methods = strings(b, "methods", path, true);
  const auto known_methods = finetune_methods();
  for (const auto& m : f.methods)
    if (std::find(known_methods.begin(), known_methods.end(), m) == known_methods.end())
      fail_unknown(fmt::format("fine-tuning method in {} {}", path, section), m, known_methods);
  f.n_train = integers(b, "n_train", path);
  // The other settings, as the command line takes them, checked now with every method of
  // the block (a rank of 0, say, is refused before anything runs).
  for (const auto& setting : finetune_settings()) {
    const toml::node* v = b.get(setting.key);
    if (!v || setting.key == "steps" || setting.key == "batch" || setting.key == "folds") continue;
    check(v->is_number(), "{}: must be a number", where(path, *v, setting.key));
    f.settings[setting.key] =
        v->is_integer() ? fmt::format("{}", *v->value<int64_t>()) : fmt::format("{}", *v->value<double>());
  }
  for (const auto& m : f.methods) {
    FinetuneConfig c;
    c.method = m;
    try {
      apply_finetune_settings(c, f.settings, section);
      c.validate();
    } catch (const Error& e) {
      fail("{}: {}: {}", path, section, e.what());
    }
  }
  const toml::node* e = b.get("evaluate");
  check(e && e->is_table(), "{}: {} needs an evaluate = {{ splits, methods, n }} table", path, section);
  f.evaluate = eval_block(*e->as_table(), path, section + " evaluate", true);
  for (const auto& entry : f.evaluate.retention_tasks) {  // TASK or TASK@SPLIT[@METHOD]
    const EvalTaskSpec retention = parse_eval_task(entry);
    check_study_task(retention.task);
    if (retention.split.empty()) continue;
    const auto t = make_task(retention.task);
    bool known = false;
    for (const auto& sp : t->splits()) known |= sp.name == retention.split;
    check(known, "{}: {} retention_tasks: task {} has no split '{}'", path, section, retention.task, retention.split);
    if (!retention.method.empty()) parse_method(retention.method);
  }
  return f;
}

// A block's `models` names bases of this study.
void check_block_models(const StudySpec& s, const std::string& path) {
  std::vector<std::string> names = s.presets;
  for (const auto& m : s.models) names.push_back(m.name);
  for (const auto& src : s.sources) names.push_back(src.name);
  auto known_models = [&](const std::vector<std::string>& models, const std::string& section) {
    for (const auto& m : models)
      if (std::find(names.begin(), names.end(), m) == names.end())
        fail_unknown(fmt::format("model in {} {} models", path, section), m, names);
  };
  for (size_t i = 0; i < s.evaluate.size(); ++i) known_models(s.evaluate[i].models, fmt::format("[[evaluate]] {}", i + 1));
  for (size_t i = 0; i < s.finetune.size(); ++i) known_models(s.finetune[i].models, fmt::format("[[finetune]] {}", i + 1));
}

}  // namespace

std::vector<int64_t> snapshot_steps(const StudySpec& s, const std::string& base_name) {
  const nlohmann::json* settings = &s.pretrain_settings;
  for (const auto& m : s.models)
    if (m.name == base_name && m.settings.contains("save_at")) settings = &m.settings;
  if (!settings->contains("save_at")) return {};
  return (*settings)["save_at"].get<std::vector<int64_t>>();
}

// The stages, top to bottom: [study], [[results]], the bases ([pretrain] presets and
// shipped bases, [[model]], [[sweep]]), [pretrain]'s settings, [[evaluate]] and
// [[finetune]] blocks, and the models the blocks name.
StudySpec parse_study(const std::string& text, const std::string& path) {
  toml::table t;
  try {
    t = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    fail("{}:{}: {}", path, e.source().begin.line, e.description());
  }
  known_keys(t, path, "the study file", {"study", "pretrain", "evaluate", "finetune", "model", "sweep", "results", "reproduce"});
  StudySpec s;
  s.path = path;
  read_study_table(t, path, s);
  s.results = results_blocks(t, path);
  // A study of imported results alone has no [pretrain], models or jobs.
  if (!s.results.empty() && !t.get("pretrain") && !t.get("model") && !t.get("sweep") && !t.get("evaluate") &&
      !t.get("finetune"))
    return s;

  static const toml::table no_pretraining;
  const bool has_sources = [&] {
    for (const toml::table* m : array_tables(t, "model", path))
      if (m->get("source")) return true;
    return false;
  }();
  // A study of outside models alone needs no [pretrain] table.
  const auto& pre = has_sources && !t.get("pretrain") ? no_pretraining : table_at(t, "pretrain", path);
  std::vector<std::string> pretrain_keys = {"presets", "recipes", "tokens", "batch", "seq_len", "lr", "loss", "precision", "shipped"};
  for (const auto& setting : pretrain_settings()) pretrain_keys.push_back(setting.key);
  known_keys(pre, path, "[pretrain]", pretrain_keys);
  s.presets = strings(pre, "presets", path, false);
  // Shipped bases (study/shipped.h): a directory relative to the study file.
  if (auto shipped = pre["shipped"].value<std::string>())
    s.shipped = (fs::path(path).parent_path() / *shipped).lexically_normal().string();
  read_bases(t, path, s);
  check(!s.presets.empty() || !s.models.empty() || !s.sources.empty(),
        "{}: [pretrain] needs presets, or the study [[model]] or [[sweep]] tables", path);
  read_pretrain_settings(pre, path, s);

  if (const toml::node* n = t.get("evaluate")) {
    const toml::array* blocks = n->as_array();
    check(blocks != nullptr, "{}: use [[evaluate]] (an array of tables)", where(path, *n, "evaluate"));
    for (size_t i = 0; i < blocks->size(); ++i) {
      const toml::table* b = (*blocks)[i].as_table();
      check(b != nullptr, "{}: [[evaluate]] {} is not a table", path, i + 1);
      s.evaluate.push_back(eval_block(*b, path, fmt::format("[[evaluate]] {}", i + 1), false));
      for (const auto& task : s.evaluate.back().tasks) check_study_task(task);
    }
  }
  if (const toml::node* n = t.get("finetune")) {
    const toml::array* blocks = n->as_array();
    check(blocks != nullptr, "{}: use [[finetune]] (an array of tables)", where(path, *n, "finetune"));
    for (size_t i = 0; i < blocks->size(); ++i) {
      const toml::table* b = (*blocks)[i].as_table();
      check(b != nullptr, "{}: [[finetune]] {} is not a table", path, i + 1);
      s.finetune.push_back(finetune_block(*b, path, fmt::format("[[finetune]] {}", i + 1)));
    }
  }
  check(!s.evaluate.empty() || !s.finetune.empty(), "{}: nothing to evaluate: add [[evaluate]] or [[finetune]]", path);
  check_block_models(s, path);
  if (t.get("reproduce")) {
    s.reproduce = read_reproduce(table_at(t, "reproduce", path), path);
    check_reproduction(s);
  }
  return s;
}

StudySpec load_study(const std::string& path) { return parse_study(read_file(path), path); }

}  // namespace elab
