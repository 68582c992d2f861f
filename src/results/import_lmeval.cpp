// lm-evaluation-harness result files as result rows. Two forms:
//  - the old one (harness <= 0.3, Pythia's evals): {"results": {task: {"acc": x, "acc_stderr": s}},
//    "versions": {...}, "config": {"model_args": "pretrained=...,revision=step143000", "num_fewshot": k}};
//  - the current one (0.4): results_<time>.json with metric keys "acc,none" (metric, filter),
//    "n-shot", "n-samples", "configs", and with --log_samples one samples_<task>_<time>.jsonl
//    beside it per task, whose lines hold each item's metric values: per-item outcomes,
//    so comparisons on the same items are paired.
// Model facts the file lacks (family, size, tokens) come from its name, or from a sidecar
// TOML (--meta, or elab-meta.toml in the file's folder) that overrides them.
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "results/importers.h"

namespace elab {

namespace {

const char* kVersion = "1";

// Metrics whose direction is known; any other needs one from the sidecar's [metrics] (bias
// scores such as CrowS-Pairs' pct_stereotype among them: which way is "better" is the
// study's to say).
std::optional<int> known_direction(const std::string& metric) {
  static const std::set<std::string> higher = {"acc", "acc_norm", "exact_match", "em", "f1", "mc1", "mc2", "bleu",
                                               "rouge1", "rouge2", "rougeL", "mcc", "acc_mutual_info", "pass@1"};
  static const std::set<std::string> lower = {"perplexity", "ppl", "word_perplexity", "byte_perplexity", "bits_per_byte",
                                              "brier_score"};
  if (higher.count(metric)) return 1;
  if (lower.count(metric)) return -1;
  return std::nullopt;
}

// Chance levels of the harness's common tasks (one over the number of options; 0 for
// open answers). A task not here has none unless the sidecar's [chance] gives it.
double known_chance(const std::string& task) {
  static const std::vector<std::pair<std::string, double>> prefixes = {
      {"hendrycksTest-", 0.25}, {"mmlu", 0.25}, {"arc_easy", 0.25}, {"arc_challenge", 0.25}, {"sciq", 0.25},
      {"logiqa", 0.25}, {"hellaswag", 0.25}, {"openbookqa", 0.25}, {"piqa", 0.5}, {"winogrande", 0.5},
      {"wsc", 0.5}, {"boolq", 0.5}, {"copa", 0.5}, {"crows_pairs", 0.5}, {"lambada", 0.0}, {"gsm8k", 0.0},
      {"arithmetic", 0.0}, {"triviaqa", 0.0}};
  for (const auto& [p, c] : prefixes)
    if (task.rfind(p, 0) == 0) return c;
  return NAN;
}

// The sidecar: model facts and metric directions the result files do not carry.
struct Meta {
  std::string name, family, variant;
  double parameters = NAN, tokens = NAN, tokens_per_step = NAN, flops = NAN;
  std::map<std::string, int> directions;
  std::map<std::string, double> chance;
};

Meta read_meta(const std::string& path) {
  Meta m;
  if (path.empty()) return m;
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    fail("{}:{}: {}", path, e.source().begin.line, e.description());
  }
  for (const auto& [k, v] : t)
    check(k == "model" || k == "metrics" || k == "chance", "{}: unknown section [{}] (valid: model, metrics, chance)", path,
          k.str());
  if (const auto* model = t["model"].as_table()) {
    for (const auto& [k, v] : *model) {
      const std::string key(k.str());
      if (key == "name" || key == "family" || key == "variant") {
        check(v.is_string(), "{}: [model] {} must be a string", path, key);
        (key == "name" ? m.name : key == "family" ? m.family : m.variant) = *v.value<std::string>();
      } else if (key == "parameters" || key == "tokens" || key == "tokens_per_step" || key == "flops") {
        const auto x = v.value<double>();
        check(x.has_value() && *x > 0, "{}: [model] {} must be a positive number", path, key);
        (key == "parameters" ? m.parameters : key == "tokens" ? m.tokens : key == "flops" ? m.flops : m.tokens_per_step) = *x;
      } else {
        fail("{}: [model] has no key '{}' (valid: name, family, variant, parameters, tokens, tokens_per_step, flops)", path,
             key);
      }
    }
  }
  if (const auto* metrics = t["metrics"].as_table()) {
    for (const auto& [k, v] : *metrics) {
      const auto d = v.value<std::string>();
      check(d && (*d == "higher" || *d == "lower"), "{}: [metrics] {} must be \"higher\" or \"lower\"", path, k.str());
      m.directions[std::string(k.str())] = *d == "higher" ? 1 : -1;
    }
  }
  if (const auto* chance = t["chance"].as_table()) {
    for (const auto& [k, v] : *chance) {
      const auto x = v.value<double>();
      check(x && *x >= 0 && *x <= 1, "{}: [chance] {} must be a number in [0, 1]", path, k.str());
      m.chance[std::string(k.str())] = *x;
    }
  }
  return m;
}

nlohmann::json parse_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Byte offset to line: what a person opens the file at.
    const size_t at = std::min<size_t>(e.byte, text.size());
    const auto line = 1 + std::count(text.begin(), text.begin() + long(at), '\n');
    fail("{}:{}: not valid JSON ({})", path, line, e.what());
  }
}

// "pretrained=EleutherAI/pythia-70m,revision=step143000" or {"pretrained": ...}.
std::map<std::string, std::string> model_args(const nlohmann::json& config) {
  std::map<std::string, std::string> out;
  if (!config.contains("model_args")) return out;
  const auto& a = config["model_args"];
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) out[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
  } else if (a.is_string()) {
    std::string s = a.get<std::string>();
    size_t start = 0;
    while (start <= s.size()) {
      const size_t comma = std::min(s.find(',', start), s.size());
      const std::string kv = s.substr(start, comma - start);
      if (const size_t eq = kv.find('='); eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
      start = comma + 1;
    }
  }
  return out;
}

int64_t step_of(const std::string& text) {
  static const std::regex re(R"(step[_-]?([0-9]+))");
  std::smatch m;
  return std::regex_search(text, m, re) ? std::stoll(m[1].str()) : -1;
}

double number_or_nan(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : NAN; }

// The samples of one task: each (filter, metric)'s per-item values in doc_id order.
using ItemValues = std::map<std::pair<std::string, std::string>, std::vector<double>>;

ItemValues read_samples(const std::string& path, const std::set<std::string>& metrics) {
  std::map<std::pair<std::string, std::string>, std::map<int64_t, double>> by_doc;
  for (const auto& line : read_lines(path)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line.text);
    } catch (const nlohmann::json::parse_error& e) {
      fail("{}:{}: not valid JSON ({})", path, line.line, e.what());
    }
    check(j.is_object() && j.contains("doc_id") && j["doc_id"].is_number_integer(),
          "{}:{}: a sample line needs an integer doc_id", path, line.line);
    const int64_t doc = j["doc_id"].get<int64_t>();
    const std::string filter = j.value("filter", std::string("none"));
    for (const auto& m : metrics) {
      if (!j.contains(m)) continue;
      check(j[m].is_number() || j[m].is_boolean(), "{}:{}: metric {} is not a number", path, line.line, m);
      auto& slot = by_doc[{filter, m}];
      check(!slot.count(doc), "{}:{}: doc_id {} appears twice for filter {}", path, line.line, doc, filter);
      slot[doc] = j[m].is_boolean() ? double(j[m].get<bool>()) : j[m].get<double>();
    }
  }
  ItemValues out;
  for (auto& [k, docs] : by_doc)
    for (const auto& [d, v] : docs) out[k].push_back(v);
  return out;
}

// The samples file of `task` beside a current-form results file, if there is one.
std::string samples_file(const fs::path& results_file, const std::string& task) {
  const std::string stem = results_file.stem().string();  // results_<time>
  if (stem.rfind("results_", 0) != 0) return "";
  const std::string time = stem.substr(8);
  const fs::path p = results_file.parent_path() / ("samples_" + task + "_" + time + ".jsonl");
  return fs::exists(p) ? p.string() : "";
}

std::vector<ResultRow> read_results_file(const std::string& path, const Meta& sidecar, const std::string& source) {
  const nlohmann::json j = parse_json_file(path);
  check(j.is_object() && j.contains("results") && j["results"].is_object(),
        "{}: not an lm-evaluation-harness results file (no \"results\" object)", path);
  const nlohmann::json config = j.contains("config") && j["config"].is_object() ? j["config"] : nlohmann::json::object();
  check(config.contains("model_args") || j.contains("model_name") || !sidecar.name.empty(),
        "{}: key config.model_args is missing and no model name was given (--meta with [model] name)", path);
  auto args = model_args(config);
  // Which model: the sidecar's name, else pretrained=..., else model_name.
  RowModel model;
  model.name = !sidecar.name.empty() ? sidecar.name
             : args.count("pretrained") ? args["pretrained"]
             : j.value("model_name", std::string());
  check(!model.name.empty(), "{}: config.model_args names no pretrained= model", path);
  model.step = args.count("revision") ? step_of(args["revision"]) : -1;
  if (model.step < 0) model.step = step_of(fs::path(path).filename().string());
  model.family = !sidecar.family.empty() ? sidecar.family : family_from_name(model.name);
  model.variant = !sidecar.variant.empty() ? sidecar.variant : variant_from_name(model.name);
  model.parameters = std::isfinite(sidecar.parameters) ? sidecar.parameters : parameters_from_name(model.name);
  model.tokens = std::isfinite(sidecar.tokens) ? sidecar.tokens
               : std::isfinite(sidecar.tokens_per_step) && model.step >= 0 ? sidecar.tokens_per_step * double(model.step)
               : NAN;
  model.flops = sidecar.flops;

  const bool current = j.contains("n-shot") || j.contains("configs") || j.contains("n-samples");
  std::vector<ResultRow> rows;
  for (auto task = j["results"].begin(); task != j["results"].end(); ++task) {
    const std::string name = task.key();
    check(task->is_object(), "{}: results.{} is not an object", path, name);
    int64_t shots = -1;
    if (current && j.contains("n-shot") && j["n-shot"].contains(name) && j["n-shot"][name].is_number_integer())
      shots = j["n-shot"][name].get<int64_t>();
    else if (current && j.contains("configs") && j["configs"].contains(name))
      shots = j["configs"][name].value("num_fewshot", int64_t(-1));
    else if (config.contains("num_fewshot") && config["num_fewshot"].is_number_integer())
      shots = config["num_fewshot"].get<int64_t>();
    int64_t n = 0;
    if (j.contains("n-samples") && j["n-samples"].contains(name)) n = j["n-samples"][name].value("effective", int64_t(0));
    // Metric keys: "acc" (old) or "acc,none" (current: metric, filter); "_stderr" keys are their errors.
    std::vector<std::tuple<std::string, std::string, std::string>> metrics;  // key, metric, filter
    std::set<std::string> metric_names;
    for (auto m = task->begin(); m != task->end(); ++m) {
      const std::string key = m.key();
      if (key == "alias" || key == "name" || key.find("_stderr") != std::string::npos || key == "samples") continue;
      const size_t comma = key.find(',');
      const std::string metric = key.substr(0, comma);
      const std::string filter = comma == std::string::npos ? "" : key.substr(comma + 1);
      if (!m->is_number()) {
        check(m->is_string(), "{}: results.{}.{} is neither a number nor a string", path, name, key);
        continue;  // "N/A" and the like: no value to import
      }
      metrics.emplace_back(key, metric, filter);
      metric_names.insert(metric);
    }
    const std::string samples = current ? samples_file(path, name) : "";
    const ItemValues items = samples.empty() ? ItemValues{} : read_samples(samples, metric_names);
    for (const auto& [key, metric, filter] : metrics) {
      ResultRow r;
      r.source = source;
      r.model = model;
      r.task = name;
      r.method.shots = shots;
      r.method.format = filter == "none" ? "" : filter;
      r.method.style = name.find("cot") != std::string::npos ? "chain" : "direct";
      r.metric.name = metric;
      const auto dir = sidecar.directions.count(metric) ? std::optional<int>(sidecar.directions.at(metric))
                                                        : known_direction(metric);
      check(dir.has_value(),
            "{}: results.{}.{}: metric '{}' has no known direction; say whether higher or lower is better in a sidecar "
            "TOML (--meta FILE with [metrics] {} = \"higher\")", path, name, key, metric, metric);
      r.metric.direction = *dir;
      r.metric.chance = sidecar.chance.count(name) ? sidecar.chance.at(name) : known_chance(name);
      r.value = (*task)[key].get<double>();
      const std::string se_key = filter.empty() ? metric + "_stderr" : metric + "_stderr," + filter;
      if (task->contains(se_key)) r.stderr_ = number_or_nan((*task)[se_key]);
      r.n = n;
      if (!samples.empty()) {
        const auto it = items.find({filter.empty() ? "none" : filter, metric});
        check(it != items.end(), "{}: has no per-item values of {} (filter {}) that {} reports for task {}", samples, metric,
              filter, path, name);
        check(n == 0 || int64_t(it->second.size()) == n,
              "{}: {} items of {} (filter {}), but {} says n-samples.{}.effective = {}: the sample file and the results "
              "file disagree", samples, it->second.size(), metric, filter, path, name, n);
        r.items = it->second;
        r.n = int64_t(r.items.size());
        double mean = 0;
        for (double x : r.items) mean += x;
        mean /= double(r.items.size());
        check(std::abs(mean - r.value) <= 1e-6 + 1e-6 * std::abs(r.value),
              "{}: the mean of {} over its {} items is {}, but {} reports {} for task {}: the files disagree", samples,
              metric, r.items.size(), mean, path, r.value, name);
      }
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

bool is_results_file(const std::string& path) {
  const fs::path p(path);
  const std::string name = p.filename().string();
  return p.extension() == ".json" && name.rfind("samples_", 0) != 0;
}

std::vector<ResultRow> read_lm_eval(const ImportRequest& req) {
  const Meta given = read_meta(req.meta);
  std::vector<ResultRow> rows;
  for (const auto& root : req.paths) {
    for (const fs::path f : input_files(root, true, is_results_file, "results .json")) {
      // A sidecar beside the file applies where --meta gave none.
      Meta meta = given;
      if (req.meta.empty() && fs::exists(f.parent_path() / "elab-meta.toml"))
        meta = read_meta((f.parent_path() / "elab-meta.toml").string());
      const std::string rel = fs::is_directory(root) ? fs::relative(f, fs::path(root).parent_path()).string() : f.filename().string();
      auto part = read_results_file(f.string(), meta, rel);
      rows.insert(rows.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
  }
  return rows;
}

}  // namespace

Importer lm_eval_importer() {
  return {"lm-eval", kVersion,
          "lm-evaluation-harness results JSON (old form: results/versions/config; current: results_*.json with "
          "samples_*.jsonl from --log_samples for per-item outcomes); --meta TOML for model facts the files lack",
          read_lm_eval};
}

}  // namespace elab
