#pragma once
// The report's data: one row per finished evaluation (with the base model and the
// adaptation it ran on), and cells, rows of the same (base, adaptation, task, split,
// method) pooled over training seeds, with the comparisons every section makes.
// Torch-free.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "eval/method.h"
#include "eval/stats.h"
#include "report/findings.h"
#include "tasks/baselines.h"
#include "results/row.h"
#include "study/job_spec.h"

namespace elab {

// One evaluation, with the model it ran on.
struct EvalRow {
  std::string preset, recipe;  // a source's name, and recipe "source"
  int64_t parameters = 0;
  uint64_t train_seed = 0;
  std::string adaptation;  // "prompt", or "ft:METHOD:N" (fine-tuned on ft_task with N examples)
  std::string ft_method, ft_task;
  int64_t n_train = 0;
  std::string task, split, method;
  int64_t n = 0;
  double accuracy = 0, lo = 0, hi = 0;
  double gold_logprob = 0, char_accuracy = 0, gold_chars = 0;
  bool has_logprob = false;
  std::vector<double> item_correct;
  double accuracy_strict = 0;
  int64_t snapshot = 0;  // > 0: evaluated on the base's snapshot at this step (not its final weights)
  std::vector<int64_t> extraction_disagreements;  // items strict and lenient extraction score differently
  // The trivial baselines of its items (tasks/baselines.h) and the share it left unanswered.
  std::optional<TrivialBaselines> baselines;
  double unanswered = 0;
  // Fine-tuned: the share of its own training prompts the model answered in format after
  // fine-tuning (study/finetune_job.cpp); -1 when not recorded (protocol 2 and before).
  double ft_train_answered = -1;
  int64_t ft_shots = 0;  // fine-tuned on k-shot rows (train_shots; Bornschein et al. 2025): K, else 0
  std::string base;  // its base as the job list names it (study/job_spec.h base_label): "s/add/s1"
};

std::vector<EvalRow> eval_rows(const std::vector<JobRecord>& jobs);
// elab's own evaluations as result rows (results/row.h), so the analyses over rows read
// the study's ladder beside imported ladders: family = recipe (or "source" models by name),
// variant base or "ft:METHOD:N", exact match with its per-item outcomes. Probes and
// fine-tuned models on other tasks are left out (they answer other questions).
std::vector<ResultRow> as_result_rows(const std::vector<EvalRow>& rows);

// Rows of the same (preset, recipe, adaptation and its fine-tuning task, task, split,
// method), pooled over training seeds. Items stay in seed order, so two cells evaluated on the same items can
// be compared pair by pair.
struct Cell {
  std::string preset, recipe, adaptation, task, split, method;
  Method parsed;        // the method, as the registry parses it
  std::string ft_task;  // the task the model was fine-tuned on ("" for prompting)
  int64_t parameters = 0;
  int64_t n_train = 0;  // fine-tuned: N
  std::string ft_method;
  std::vector<double> items;
  double accuracy = 0, lo = 0, hi = 0, gold_logprob = 0, char_accuracy = 0, gold_chars = 0;
  bool has_logprob = false;
  int seeds = 0;
  // The best trivial baseline (constant answer or chance), the mean over its rows; < 0
  // when a row's is unknown (a task group's record from before baselines were kept).
  double baseline = -1;
  std::string constant_answer;
  double unanswered = 0;  // mean share of items without an extracted answer
  // Fine-tuned: the lowest share over its seeds of the model's own training prompts it
  // answered in format; -1 when no seed recorded it. Below 1 - kMaxUnanswered the model
  // has not learned its training format, and is not compared.
  double ft_train_answered = -1;
  int64_t ft_shots = 0;  // fine-tuned on k-shot rows: K (its adaptation reads "ft:M:N+Kshot"), else 0
  // Exact match as independent characters would give it: char_accuracy ^ gold length
  // (Schaeffer et al. 2023). Near the exact match: a jump is the metric's, not the model's.
  double em_from_chars() const;
};

struct Cells {
  std::map<std::string, Cell> by_key;
  std::vector<std::string> presets;  // by size
  std::vector<std::string> recipes, tasks, splits;
  uint64_t seed = 1;

  // ft_task "" = a prompting cell, or a model fine-tuned on `task` itself.
  const Cell* find(const std::string& preset, const std::string& recipe, const std::string& adaptation,
                   const std::string& task, const std::string& split, const std::string& method,
                   const std::string& ft_task = "") const;
  std::vector<const Cell*> where(const std::function<bool(const Cell&)>& keep) const;
};

Cells make_cells(const std::vector<EvalRow>& rows, uint64_t seed);

bool same_items(const Cell& a, const Cell& b);

// "icl:4" for a prompted cell, "ft:lora:4 direct" for a fine-tuned one.
std::string cell_label(const Cell& c);
// Why a cell cannot stand in a comparison, or "" when it can: more than
// kMaxUnanswered (report/findings.h) of its items unanswered (a format failure), or, with
// `above_baseline`, the lower end of its CI not above its best trivial baseline.
std::string cell_failure(const Cell& c, bool above_baseline = true);
// Which cells of a comparison must beat their trivial baselines. Two methods compared
// (prompting against fine-tuning, a chain against direct answers): both. A comparison
// whose claim is that one side falls to its baseline or rises from it (a label probe,
// retention after fine-tuning, a smaller model) lets that side be at it; it must still
// answer in format. `better`: whichever scores higher must work (two pre-training recipes,
// where the claim is that one gives an ability the other lacks).
enum class MustWork { both, b_only, a_only, better };
// A fine-tuned cell whose per-item outcomes are those of its base prompted the same way,
// item for item, was not changed by its fine-tuning on these items (a selection that chose
// almost no steps): a comparison of fine-tuning against prompting through it does not
// count. Marks `f` so when it counts otherwise.
void require_moved(const Cells& c, const Cell& fine_tuned, Finding& f);
// " (does not count: WHY)" for a finding that does not count, "" for one that does: the
// sections' verdict sentences carry it.
std::string not_counted(const Finding& f);
// A finding on A - B of two cells, marked as not counting when a cell fails.
Finding cell_finding(const std::string& question, const std::string& claim, const std::string& comparison, const Cell& a,
                     const Cell& b, const PairedDifference& d, const std::string& literature,
                     std::optional<int> published_sign, MustWork must_work = MustWork::both,
                     std::optional<double> margin = std::nullopt);
PairedDifference compare(const Cell& a, const Cell& b, uint64_t seed);

std::string pct(double x);
std::string acc_ci(const Cell& c);
std::string diff_ci(const PairedDifference& d);
// "A beats B by d [lo, hi]", "B beats A ...", or "not enough evidence ...".
std::string verdict_of(const std::string& a, const std::string& b, const PairedDifference& d);

// Counts of paired comparisons: first wins, second wins, not enough evidence.
struct Tally {
  int first = 0, second = 0, open = 0;
  void add(const PairedDifference& d) { (d.lo > 0 ? first : d.hi < 0 ? second : open) += 1; }
  int total() const { return first + second + open; }
};

}  // namespace elab
