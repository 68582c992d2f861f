#include "study/spec.h"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/fs.h"
#include "core/names.h"
#include "eval/method.h"
#include "model/config.h"
#include "tasks/recipe.h"
#include "tasks/registry.h"
#include "train/finetune.h"

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
  std::vector<std::string> known = {"tasks", "splits", "methods", "n"};
  if (finetune) known = {"splits", "methods", "n", "retention_tasks"};
  known_keys(t, path, section, known);
  EvalBlock b;
  if (!finetune) b.tasks = strings(t, "tasks", path, true);
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
  for (const auto& m : b.methods) {
    try {
      parse_method(m);
    } catch (const Error& e) {
      fail("{}: {}: {}", path, section, e.what());
    }
  }
  return b;
}

}  // namespace

StudySpec parse_study(const std::string& text, const std::string& path) {
  toml::table t;
  try {
    t = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    fail("{}:{}: {}", path, e.source().begin.line, e.description());
  }
  known_keys(t, path, "the study file", {"study", "pretrain", "evaluate", "finetune"});
  StudySpec s;
  s.path = path;
  const auto& study = table_at(t, "study", path);
  known_keys(study, path, "[study]", {"name", "seed", "seeds", "dir"});
  auto name = study["name"].value<std::string>();
  check(name.has_value() && !name->empty(), "{}: [study] needs a name", path);
  check(name->find_first_of("/\\ ") == std::string::npos, "{}: study name '{}' must not contain '/', '\\' or spaces",
        path, *name);
  s.name = *name;
  s.seed = uint64_t(number<int64_t>(study, "seed", 1, path));
  if (study.get("seeds")) {
    s.seeds.clear();
    for (int64_t v : integers(study, "seeds", path)) s.seeds.push_back(uint64_t(v));
  } else {
    s.seeds = {s.seed};
  }
  s.dir = study["dir"].value_or((fs::path("studies") / s.name).string());

  const auto& pre = table_at(t, "pretrain", path);
  known_keys(pre, path, "[pretrain]", {"presets", "recipes", "tokens", "batch", "seq_len", "lr", "loss", "precision"});
  s.presets = strings(pre, "presets", path, true);
  s.recipes = strings(pre, "recipes", path, true);
  for (const auto& p : s.presets) find_preset(p);  // unknown names list the valid ones
  for (const auto& r : s.recipes) find_recipe(r);
  s.tokens = number<int64_t>(pre, "tokens", 1000000, path);
  s.batch = number<int64_t>(pre, "batch", 32, path);
  s.seq_len = number<int64_t>(pre, "seq_len", 128, path);
  s.lr = number<double>(pre, "lr", 0.0, path);
  s.loss = pre["loss"].value_or(std::string("all"));
  check(s.tokens > 0 && s.batch > 0 && s.seq_len > 0, "{}: [pretrain] tokens, batch and seq_len must be positive", path);
  check(s.loss == "all" || s.loss == "answer", "{}: [pretrain] loss must be \"all\" or \"answer\"", path);
  s.precision = pre["precision"].value_or(std::string("fp32"));
  check(s.precision == "fp32" || s.precision == "bf16", "{}: [pretrain] precision must be \"fp32\" or \"bf16\"", path);

  if (const toml::node* n = t.get("evaluate")) {
    const toml::array* blocks = n->as_array();
    check(blocks != nullptr, "{}: use [[evaluate]] (an array of tables)", where(path, *n, "evaluate"));
    for (size_t i = 0; i < blocks->size(); ++i) {
      const toml::table* b = (*blocks)[i].as_table();
      check(b != nullptr, "{}: [[evaluate]] {} is not a table", path, i + 1);
      s.evaluate.push_back(eval_block(*b, path, fmt::format("[[evaluate]] {}", i + 1), false));
      for (const auto& task : s.evaluate.back().tasks) make_task(task);
    }
  }
  if (const toml::node* n = t.get("finetune")) {
    const toml::array* blocks = n->as_array();
    check(blocks != nullptr, "{}: use [[finetune]] (an array of tables)", where(path, *n, "finetune"));
    for (size_t i = 0; i < blocks->size(); ++i) {
      const toml::table* b = (*blocks)[i].as_table();
      check(b != nullptr, "{}: [[finetune]] {} is not a table", path, i + 1);
      const std::string section = fmt::format("[[finetune]] {}", i + 1);
      known_keys(*b, path, section, {"tasks", "methods", "n_train", "evaluate"});
      FinetuneBlock f;
      f.tasks = strings(*b, "tasks", path, true);
      for (const auto& task : f.tasks) make_task(task);
      f.methods = strings(*b, "methods", path, true);
      for (const auto& m : f.methods)
        if (std::find(finetune_methods().begin(), finetune_methods().end(), m) == finetune_methods().end())
          fail_unknown(fmt::format("fine-tuning method in {} {}", path, section), m, finetune_methods());
      f.n_train = integers(*b, "n_train", path);
      const toml::node* e = b->get("evaluate");
      check(e && e->is_table(), "{}: {} needs an evaluate = {{ splits, methods, n }} table", path, section);
      f.evaluate = eval_block(*e->as_table(), path, section + " evaluate", true);
      for (const auto& task : f.evaluate.retention_tasks) make_task(task);
      s.finetune.push_back(std::move(f));
    }
  }
  check(!s.evaluate.empty() || !s.finetune.empty(), "{}: nothing to evaluate: add [[evaluate]] or [[finetune]]", path);
  return s;
}

StudySpec load_study(const std::string& path) { return parse_study(read_file(path), path); }

}  // namespace elab
