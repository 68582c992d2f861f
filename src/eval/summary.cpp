#include "eval/summary.h"

#include "core/error.h"
#include "core/json_fields.h"

namespace elab {

namespace {

nlohmann::ordered_json optional_number(const std::optional<double>& x) {
  return x ? nlohmann::ordered_json(*x) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json metrics_json(const EvalMetrics& m, bool group) {
  if (group)  // a group's own metrics are sums over its members
    return {{"extract_fail", m.extract_fail}, {"seconds", m.seconds},
            {"extraction_disagreements", double(m.extraction_disagreements)}};
  nlohmann::ordered_json j = {{"extract_fail", m.extract_fail},
                              {"char_accuracy", m.char_accuracy},
                              {"gold_chars", m.gold_chars},
                              {"edit_distance", m.edit_distance},
                              {"mean_generated_tokens", m.mean_generated_tokens},
                              {"seconds", m.seconds},
                              {"tokens_per_s", m.tokens_per_s},
                              {"gold_logprob", optional_number(m.gold_logprob)}};
  if (m.gold_logprob_per_char) j["gold_logprob_per_char"] = *m.gold_logprob_per_char;
  j["extraction_disagreements"] = double(m.extraction_disagreements);
  return j;
}

std::optional<double> optional_field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return json_field<double>(j, key, where, 0);
}

}  // namespace

nlohmann::ordered_json to_json(const EvalSummary& s) {
  const bool group = !s.members.empty();
  nlohmann::ordered_json j = {{"task", s.task}, {"split", s.split}, {"method", s.method}, {"model", s.model},
                              {"n", s.n},       {"accuracy", s.accuracy}, {"ci95", {s.ci_lo, s.ci_hi}},
                              {"extraction", s.extraction}};
  if (!s.extractor.empty()) j["extractor"] = s.extractor;
  j["accuracy_strict"] = s.accuracy_strict;
  j["metrics"] = metrics_json(s.metrics, group);
  j["seed"] = s.seed;
  if (group) {
    j["macro_average_of"] = s.macro_average_of;
    nlohmann::ordered_json members = nlohmann::ordered_json::array();
    for (const auto& m : s.members) members.push_back(to_json(m));
    j["subtasks"] = members;
  } else {
    j["items_hash"] = s.items_hash;
    j["item_correct"] = s.item_correct;
  }
  if (s.accuracy_lenient) j["accuracy_lenient"] = *s.accuracy_lenient;
  if (s.accuracy_flexible) j["accuracy_flexible"] = *s.accuracy_flexible;
  if (s.protocol != "generate") j["protocol"] = s.protocol;
  if (s.accuracy_norm) j["accuracy_norm"] = *s.accuracy_norm;
  if (!s.extraction_disagreements.empty()) j["extraction_disagreements"] = s.extraction_disagreements;
  if (!s.notes.empty()) j["notes"] = s.notes;
  if (s.baselines)
    j["baselines"] = {{"constant_answer", s.baselines->constant_answer},
                      {"constant", s.baselines->constant},
                      {"chance", s.baselines->chance}};
  return j;
}

EvalSummary eval_summary_from_json(const nlohmann::json& j, const std::string& where) {
  check(j.is_object(), "{}: an evaluation summary must be a JSON object, got {}", where, j.type_name());
  EvalSummary s;
  s.task = json_field<std::string>(j, "task", where, "");
  s.split = json_field<std::string>(j, "split", where, "");
  s.method = json_field<std::string>(j, "method", where, "");
  s.model = json_field<std::string>(j, "model", where, "");
  s.n = json_field<int64_t>(j, "n", where, 0);
  s.accuracy = json_field<double>(j, "accuracy", where, 0);
  const auto ci = json_field<std::vector<double>>(j, "ci95", where, {});
  check(ci.empty() || ci.size() == 2, "{}: evaluation summary key 'ci95' must hold two numbers", where);
  if (ci.size() == 2) s.ci_lo = ci[0], s.ci_hi = ci[1];
  s.extraction = json_field<std::string>(j, "extraction", where, "strict");
  s.extractor = json_field<std::string>(j, "extractor", where, "");
  s.accuracy_strict = json_field<double>(j, "accuracy_strict", where, s.accuracy);  // results from before the audit
  s.accuracy_lenient = optional_field(j, "accuracy_lenient", where);
  s.accuracy_flexible = optional_field(j, "accuracy_flexible", where);
  s.protocol = json_field<std::string>(j, "protocol", where, "generate");
  s.accuracy_norm = optional_field(j, "accuracy_norm", where);
  if (j.contains("metrics")) {
    const auto& m = j["metrics"];
    check(m.is_object(), "{}: evaluation summary key 'metrics' must be an object", where);
    s.metrics.extract_fail = json_field<double>(m, "extract_fail", where, 0);
    s.metrics.char_accuracy = json_field<double>(m, "char_accuracy", where, 0);
    s.metrics.gold_chars = json_field<double>(m, "gold_chars", where, 0);
    s.metrics.edit_distance = json_field<double>(m, "edit_distance", where, 0);
    s.metrics.mean_generated_tokens = json_field<double>(m, "mean_generated_tokens", where, 0);
    s.metrics.seconds = json_field<double>(m, "seconds", where, 0);
    s.metrics.tokens_per_s = json_field<double>(m, "tokens_per_s", where, 0);
    s.metrics.gold_logprob = optional_field(m, "gold_logprob", where);
    s.metrics.gold_logprob_per_char = optional_field(m, "gold_logprob_per_char", where);
    s.metrics.extraction_disagreements = int64_t(json_field<double>(m, "extraction_disagreements", where, 0));
  }
  s.seed = json_field<uint64_t>(j, "seed", where, 1);
  s.items_hash = json_field<std::string>(j, "items_hash", where, "");
  s.item_correct = json_field<std::vector<int>>(j, "item_correct", where, {});
  s.extraction_disagreements = json_field<std::vector<int64_t>>(j, "extraction_disagreements", where, {});
  s.notes = json_field<std::vector<std::string>>(j, "notes", where, {});
  s.macro_average_of = json_field<int64_t>(j, "macro_average_of", where, 0);
  if (j.contains("baselines")) {
    const auto& b = j["baselines"];
    check(b.is_object(), "{}: evaluation summary key 'baselines' must be an object", where);
    s.baselines = TrivialBaselines{json_field<std::string>(b, "constant_answer", where, ""),
                                   json_field<double>(b, "constant", where, 0), json_field<double>(b, "chance", where, 0)};
  }
  if (j.contains("subtasks")) {
    check(j["subtasks"].is_array(), "{}: evaluation summary key 'subtasks' must be an array", where);
    for (const auto& m : j["subtasks"]) s.members.push_back(eval_summary_from_json(m, where + " subtask"));
  }
  return s;
}

}  // namespace elab
