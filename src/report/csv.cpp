// results.csv: one line per evaluation, fields quoted where they need it. Columns added
// later go last, so the earlier ones keep their places: ft_task (the task a fine-tuned
// model was tuned on), then the share of items left unanswered and the best trivial
// baseline with its constant answer (empty when unknown), which a cell must beat.
#include <fmt/format.h>

#include "report/scale_rows.h"
#include "report/sections.h"

namespace elab {

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

}  // namespace

std::string results_csv(const std::vector<EvalRow>& rows) {
  std::string csv = "preset,parameters,recipe,train_seed,adaptation,task,split,method,n,accuracy,ci_low,ci_high,gold_logprob,char_accuracy,snapshot,ft_task,unanswered,baseline,constant_answer\n";
  for (const auto& r : rows)
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{:.6f},{:.6f},{:.6f},{},{:.6f},{},{},{:.6f},{},{}\n", csv_field(r.preset), r.parameters,
                       csv_field(r.recipe), r.train_seed, csv_field(r.adaptation), csv_field(r.task), csv_field(r.split),
                       csv_field(r.method), r.n, r.accuracy, r.lo, r.hi,
                       r.has_logprob ? fmt::format("{:.6f}", r.gold_logprob) : "", r.char_accuracy,
                       r.snapshot > 0 ? std::to_string(r.snapshot) : "", csv_field(r.ft_task), r.unanswered,
                       r.baselines ? fmt::format("{:.6f}", r.baselines->best()) : "",
                       r.baselines ? csv_field(r.baselines->constant_answer) : "");
  return csv;
}

}  // namespace elab

namespace elab {

std::string result_rows_csv(const std::vector<ResultRow>& rows) {
  auto num = [](double x) { return std::isfinite(x) ? fmt::format("{:.6g}", x) : std::string(); };
  std::string csv = "source,model,family,variant,parameters,tokens,flops,step,task,shots,style,format,metric,direction,chance,"
                    "value,stderr,ci_lo,ci_hi,n,per_item,seed\n";
  for (const auto& r : rows) {
    const auto [lo, hi] = r.ci95();
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(r.source),
                       csv_field(r.model.name), csv_field(r.model.family), csv_field(r.model.variant), num(r.model.parameters),
                       num(r.model.tokens), num(r.model.flops), r.model.step, csv_field(r.task), r.method.shots,
                       csv_field(r.method.style), csv_field(r.method.format), csv_field(r.metric.name), r.metric.direction > 0 ? "higher" : "lower",
                       num(r.metric.chance), num(r.value), num(r.standard_error()), num(lo), num(hi), r.n, r.items.size(),
                       r.seed);
  }
  return csv;
}

}  // namespace elab
