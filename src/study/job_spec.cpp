#include "study/job_spec.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_fields.h"
#include "study/pretrain_settings.h"

namespace elab {

namespace {

nlohmann::json pretrain_json(const PretrainJobSpec& s) {
  nlohmann::json j = {{"preset", s.preset}, {"recipe", s.recipe},   {"seed", s.seed}, {"tokens", s.tokens},
                      {"batch", s.batch},   {"seq_len", s.seq_len}, {"lr", s.lr},     {"loss", loss_tokens_name(s.loss)},
                      {"data", s.data_versions}, {"recipe_hash", s.recipe_hash}, {"workers", s.workers}};
  if (s.precision != Precision::fp32) j["precision"] = precision_name(s.precision);
  if (s.shape) j["model"] = shape_json(*s.shape);
  if (!s.settings.empty()) j["control"] = s.settings;
  return j;
}

PretrainJobSpec pretrain_of(const nlohmann::json& j, const std::string& where) {
  PretrainJobSpec s;
  s.preset = json_required<std::string>(j, "preset", where);
  if (j.contains("model")) s.shape = shape_of(j["model"]);
  s.recipe = json_required<std::string>(j, "recipe", where);
  s.seed = json_field<uint64_t>(j, "seed", where, 1);
  s.tokens = json_field<int64_t>(j, "tokens", where, 0);
  s.batch = json_field<int64_t>(j, "batch", where, 32);
  s.seq_len = json_field<int64_t>(j, "seq_len", where, 128);
  s.lr = json_field<double>(j, "lr", where, 0);
  s.loss = parse_loss_tokens(json_field<std::string>(j, "loss", where, "all"), where);
  s.precision = parse_precision(json_field<std::string>(j, "precision", where, "fp32"), where);
  if (j.contains("control")) s.settings = checked_pretrain_settings(j["control"], where + " control");
  s.data_versions = json_field<std::map<std::string, int>>(j, "data", where, {});
  s.recipe_hash = json_field<std::string>(j, "recipe_hash", where, "");
  s.workers = json_field<int64_t>(j, "workers", where, 1);
  return s;
}

}  // namespace

nlohmann::json shape_json(const ModelShape& m) {
  nlohmann::json j = nlohmann::json::object();
  if (!m.preset.empty()) j["preset"] = m.preset;
  if (!m.config_file.empty()) j["config_file"] = m.config_file;
  for (auto [key, v] : {std::pair{"d_model", m.d_model}, {"layers", m.layers}, {"heads", m.heads},
                        {"kv_heads", m.kv_heads}, {"max_seq_len", m.max_seq_len}})
    if (v) j[key] = v;
  if (m.ffn >= 0) j["ffn"] = m.ffn;
  if (m.rope_theta > 0) j["rope_theta"] = m.rope_theta;
  if (!m.mlp.empty()) j["mlp"] = m.mlp;
  if (m.no_tie) j["tie"] = false;
  return j;
}

ModelShape shape_of(const nlohmann::json& j) {
  ModelShape m;
  m.preset = j.value("preset", "");
  m.config_file = j.value("config_file", "");
  m.d_model = j.value("d_model", 0), m.layers = j.value("layers", 0), m.heads = j.value("heads", 0);
  m.kv_heads = j.value("kv_heads", 0), m.max_seq_len = j.value("max_seq_len", 0), m.ffn = j.value("ffn", -1);
  m.rope_theta = j.value("rope_theta", 0.0);
  m.mlp = j.value("mlp", "");
  m.no_tie = !j.value("tie", true);
  return m;
}

std::string job_kind(const JobSpec& spec) {
  static const char* names[] = {"pretrain", "source", "finetune", "eval"};
  return names[spec.index()];
}

nlohmann::json to_json(const JobSpec& spec) {
  if (const auto* p = std::get_if<PretrainJobSpec>(&spec)) return pretrain_json(*p);
  if (const auto* s = std::get_if<SourceJobSpec>(&spec)) {
    nlohmann::json j = {{"name", s->name}, {"model", s->model}, {"args", s->args}};
    if (s->seed) j["seed"] = s->seed;
    return j;
  }
  if (const auto* f = std::get_if<FinetuneJobSpec>(&spec)) {
    nlohmann::json j = {{"task", f->task}, {"method", f->method}, {"n_train", f->n_train}, {"seed", f->seed},
                        {"task_version", f->task_version}, {"workers", f->workers}, {"protocol", f->protocol}};
    if (f->precision != Precision::fp32) j["precision"] = precision_name(f->precision);
    for (auto [key, v] : {std::pair{"steps", f->steps}, {"batch", f->batch}, {"folds", f->folds}})
      if (v) j[key] = v;
    if (!f->settings.empty()) j["settings"] = f->settings;
    return j;
  }
  const auto& e = std::get<EvalJobSpec>(spec);
  nlohmann::json j = {{"task", e.task}, {"split", e.split}, {"method", e.method}, {"n", e.n}, {"seed", e.seed},
                      {"extractor", e.extractor}, {"task_version", e.task_version}, {"workers", e.workers}};
  if (e.snapshot > 0) j["snapshot"] = e.snapshot;
  if (!e.settings.empty()) j["settings"] = e.settings;
  return j;
}

// A job's "settings": an object of setting -> text (absent: none).
static std::map<std::string, std::string> text_settings(const nlohmann::json& j, const std::string& where) {
  std::map<std::string, std::string> out;
  if (!j.contains("settings")) return out;
  check(j["settings"].is_object(), "{}: 'settings' must be an object of setting -> text", where);
  for (const auto& [key, text] : j["settings"].items()) {
    check(text.is_string(), "{}: setting '{}' must be text", where, key);
    out[key] = text.get<std::string>();
  }
  return out;
}

JobSpec job_spec_from_json(const std::string& kind, const nlohmann::json& j, const std::string& where) {
  check(j.is_object(), "{}: a job spec must be a JSON object", where);
  if (kind == "pretrain") return pretrain_of(j, where);
  if (kind == "source")
    return SourceJobSpec{json_required<std::string>(j, "name", where), json_required<std::string>(j, "model", where),
                         json_field<std::string>(j, "args", where, ""), json_field<uint64_t>(j, "seed", where, 0)};
  if (kind == "finetune") {
    FinetuneJobSpec f;
    f.task = json_required<std::string>(j, "task", where);
    f.method = json_required<std::string>(j, "method", where);
    f.n_train = json_required<int64_t>(j, "n_train", where);
    f.seed = json_field<uint64_t>(j, "seed", where, 1);
    f.precision = parse_precision(json_field<std::string>(j, "precision", where, "fp32"), where);
    f.task_version = json_field<int>(j, "task_version", where, 1);
    f.workers = json_field<int64_t>(j, "workers", where, 1);
    f.protocol = json_field<int>(j, "protocol", where, 1);  // records from before protocol 2 ran protocol 1
    f.steps = json_field<int64_t>(j, "steps", where, 0);
    f.batch = json_field<int64_t>(j, "batch", where, 0);
    f.folds = json_field<int64_t>(j, "folds", where, 0);
    f.settings = text_settings(j, where);
    return f;
  }
  check(kind == "eval", "{}: unknown job kind '{}' (pretrain, source, finetune, eval)", where, kind);
  EvalJobSpec e;
  e.task = json_required<std::string>(j, "task", where);
  e.split = json_required<std::string>(j, "split", where);
  e.method = json_required<std::string>(j, "method", where);
  e.n = json_field<int64_t>(j, "n", where, 0);
  e.seed = json_field<uint64_t>(j, "seed", where, 1);
  e.extractor = json_field<std::string>(j, "extractor", where, "");
  e.task_version = json_field<int>(j, "task_version", where, 1);
  e.snapshot = json_field<int64_t>(j, "snapshot", where, 0);
  e.workers = json_field<int64_t>(j, "workers", where, 1);
  e.settings = text_settings(j, where);
  return e;
}

nlohmann::json to_json(const JobResult& result) {
  if (const auto* p = std::get_if<PretrainOutcome>(&result)) {
    nlohmann::json j = {{"steps", p->steps}, {"tokens", p->tokens}, {"train_loss", p->train_loss},
                        {"heldout_loss", p->heldout_loss}, {"parameters", p->parameters}};
    if (!p->curves.is_null()) j["curves"] = p->curves;
    return j;
  }
  if (const auto* s = std::get_if<SourceOutcome>(&result)) return {{"parameters", s->parameters}};
  if (const auto* f = std::get_if<FinetuneOutcome>(&result)) return f->config;
  if (const auto* e = std::get_if<EvalSummary>(&result)) return nlohmann::json(to_json(*e));
  return nullptr;
}

JobResult job_result_from_json(const std::string& kind, const nlohmann::json& j, const std::string& where) {
  if (j.is_null()) return std::monostate{};
  check(j.is_object(), "{}: a job result must be a JSON object", where);
  if (kind == "pretrain") {
    PretrainOutcome p;
    p.steps = json_field<int64_t>(j, "steps", where, 0);
    p.tokens = json_field<int64_t>(j, "tokens", where, 0);
    p.train_loss = json_field<double>(j, "train_loss", where, 0);
    p.heldout_loss = json_field<double>(j, "heldout_loss", where, 0);
    p.parameters = json_field<int64_t>(j, "parameters", where, 0);
    if (j.contains("curves")) p.curves = j["curves"];
    return p;
  }
  if (kind == "source") return SourceOutcome{json_field<int64_t>(j, "parameters", where, 0)};
  if (kind == "finetune") {
    FinetuneOutcome f;
    f.method = json_field<std::string>(j, "method", where, "");
    f.task = json_field<std::string>(j, "task", where, "");
    f.format = json_field<std::string>(j, "format", where, "direct");
    f.n_train = json_field<int64_t>(j, "n_train", where, 0);
    f.n_validation = json_field<int64_t>(j, "n_validation", where, 0);
    f.steps_done = json_field<int64_t>(j, "steps_done", where, 0);
    f.best_step = json_field<int64_t>(j, "best_step", where, 0);
    f.trainable_parameters = json_field<int64_t>(j, "trainable_parameters", where, 0);
    f.lr = json_field<double>(j, "lr", where, 0);
    f.val_loss_before = json_field<double>(j, "val_loss_before", where, 0);
    f.val_loss_best = json_field<double>(j, "val_loss_best", where, 0);
    f.seconds = json_field<double>(j, "seconds", where, 0);
    f.base_hash = json_field<std::string>(j, "base_hash", where, "");
    f.train_answered = json_field<double>(j, "train_answered", where, -1);
    f.train_accuracy = json_field<double>(j, "train_accuracy", where, -1);
    if (j.contains("selection") && j["selection"].is_object())
      f.selection_edge = json_field<std::string>(j["selection"], "edge", where + ": selection", "");
    f.config = j;
    return f;
  }
  return eval_summary_from_json(j, where);
}

std::string base_label(const JobSpec& base) {
  if (const auto* p = std::get_if<PretrainJobSpec>(&base)) return fmt::format("{}/{}/s{}", p->preset, p->recipe, p->seed);
  if (const auto* s = std::get_if<SourceJobSpec>(&base)) return s->seed ? fmt::format("{}/s{}", s->name, s->seed) : s->name;
  return "?";
}

EvalTaskSpec parse_eval_task(const std::string& spec) {
  EvalTaskSpec e;
  const size_t a = spec.find('@');
  e.task = spec.substr(0, a);
  if (a != std::string::npos) {
    const size_t b = spec.find('@', a + 1);
    e.split = spec.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
    if (b != std::string::npos) e.method = spec.substr(b + 1);
  }
  check(!e.task.empty(), "--eval-task '{}': expected TASK[@SPLIT[@METHOD]]", spec);
  return e;
}

}  // namespace elab
