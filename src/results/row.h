#pragma once
// The result row: the one unit every analysis reads, whoever produced the number. elab's
// own evaluations become rows (report/cells.h `as_result_rows`), and importers turn
// others' results into the same rows (lm-evaluation-harness files, CSV tables through a
// declared mapping: results/importers.h). Torch-free.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace elab {

// The model a number belongs to. Sizes are NAN when the source does not say.
struct RowModel {
  std::string name;     // as the source names it: "EleutherAI/pythia-1.4b-deduped", "m/ladder-bursty"
  std::string family;   // models of one recipe at several sizes: "pythia-deduped", "Llama-2"
  std::string variant = "base";  // base | instruct | code | ... (what was done to or fed the family)
  double parameters = NAN, tokens = NAN, flops = NAN;  // training tokens and FLOPs
  int64_t step = -1;    // the checkpoint's training step; -1 = the final weights
};

// How the model was asked.
struct RowMethod {
  int64_t shots = -1;           // in-context examples; -1 = not stated
  std::string style = "direct"; // direct | chain | self-consistency | finetuned
  std::string format;           // the prompt format or answer filter: "cloze", "mc", "strict-match", "flexible-extract", ""
};

struct RowMetric {
  std::string name;      // acc, acc_norm, exact_match, bits_per_byte, bert_score, ...
  int direction = 1;     // +1: higher is better, -1: lower is better
  double chance = NAN;   // the score of guessing (chance over the options); NAN = none stated
  bool accuracy_like() const { return direction > 0 && name.find("bert") == std::string::npos && name != "edit_distance"; }
};

struct ResultRow {
  std::string source;    // importer and file: "lm-eval:pythia/v1/pythia-70m/zero-shot/70m_step0.json"
  RowModel model;
  std::string task;
  RowMethod method;
  RowMetric metric;
  double value = NAN;
  double stderr_ = NAN;            // the source's standard error; NAN = none given
  int64_t n = 0;                   // items scored; 0 = not stated
  std::vector<double> items;       // per-item outcomes, in the source's item order; empty = none
  int64_t seed = -1;               // the run's seed; -1 = one run only

  // The standard error: the source's, else from the items, else binomial from n for a
  // proportion; NAN when nothing gives one.
  double standard_error() const;
  // value ± 1.96 standard errors; {value, value} when there is no standard error.
  std::pair<double, double> ci95() const;
  // What identifies the number (duplicates share it): model, step, task, method, metric, seed.
  std::string key() const;
};

// A difference A - B between two rows with its 95% CI: paired over items when both have
// the same number of per-item outcomes, else from the two standard errors (independent).
struct RowDifference {
  double diff = NAN, lo = NAN, hi = NAN;
  bool paired = false;
  bool resolved() const { return lo > 0 || hi < 0; }
};
RowDifference difference(const ResultRow& a, const ResultRow& b);

// "base" | "instruct" | "code" ... from a model name's markers ("-Instruct", "chat", "alpaca",
// "Code", "coder"); "base" when none.
std::string variant_from_name(const std::string& name);
// The size a model's name states ("pythia-1.4b" -> 1.4e9, "OLMo-190M" -> 1.9e8); NAN when none.
double parameters_from_name(const std::string& name);
// The name without its organisation and size token: "EleutherAI/pythia-1.4b-deduped" -> "pythia-deduped".
std::string family_from_name(const std::string& name);
// "1.4B", "190M", "70m", "2.7b", "11K" -> the number; NAN when it is not one.
double parse_size(const std::string& text);

}  // namespace elab
