#include "tasks/registry.h"

#include <mutex>

#include "core/error.h"
#include "core/names.h"
#include "tasks/file_task.h"

namespace elab {

std::unique_ptr<Task> make_add_task(const std::string&);
std::unique_ptr<Task> make_mul_task(const std::string&);
std::unique_ptr<Task> make_expr_task(const std::string&);
std::unique_ptr<Task> make_modadd_task(const std::string&);
std::unique_ptr<Task> make_coin_task(const std::string&);
std::unique_ptr<Task> make_parity_task(const std::string&);
std::unique_ptr<Task> make_lastletter_task(const std::string&);
std::unique_ptr<Task> make_sort_task(const std::string&);
std::unique_ptr<Task> make_bool_task(const std::string&);
std::unique_ptr<Task> make_wordprob_task(const std::string&);
std::unique_ptr<Task> make_induction_task(const std::string&);
std::unique_ptr<Task> make_fn_task(const std::string&);
std::unique_ptr<Task> make_spurious_task(const std::string&);
std::unique_ptr<Task> make_iclass_task(const std::string&);
std::unique_ptr<Task> make_sentiment_task(const std::string&);
std::unique_ptr<Task> make_facts_task(const std::string&);
std::unique_ptr<Task> make_gsm8k_task(const std::string&);
std::unique_ptr<Task> make_bbh_task(const std::string&);
std::unique_ptr<Task> make_jsonl_task(const std::string&);

namespace {

std::vector<TaskEntry>& entries() {
  // One line per task.
  static std::vector<TaskEntry> table = {
      {"add", "add[:digits=D]", "a + b; CoT column by column with carries", false, make_add_task},
      {"mul", "mul", "a * b; CoT partial products then their sum", false, make_mul_task},
      {"expr", "expr[:p=P]", "+ - * expression over Z_p (p=0: integers); CoT innermost first", false, make_expr_task},
      {"modadd", "modadd[:p=P,train_fraction=F]", "a + b mod p, pairs split between id and ood", false, make_modadd_task},
      {"coin", "coin", "coin flips by k people; yes/no", false, make_coin_task},
      {"parity", "parity[:bits=B]", "parity of lettered bits (Wies et al. 2023); CoT the parity so far", false, make_parity_task},
      {"lastletter", "lastletter", "concatenate last letters of k names", false, make_lastletter_task},
      {"sort", "sort", "sort integers 0-99; CoT selection sort", false, make_sort_task},
      {"bool", "bool", "True/False expression with not/and/or", false, make_bool_task},
      {"wordprob", "wordprob", "multi-step word problems (GSM8K-like)", false, make_wordprob_task},
      {"induction", "induction", "repeat a random letter block", false, make_induction_task},
      {"fn", "fn[:shots=K]", "ICL-only: infer a fresh random function from pairs", false, make_fn_task},
      {"spurious", "spurious[:agree=F]", "rule label with a colour shortcut that flips out of distribution", false,
       make_spurious_task},
      {"iclass", "iclass[:classes=C,bursty=P,burst=B,zipf=A,noise=E,...]",
       "in-context classification (Chan et al. 2022): novel classes in context vs trained classes in weights", false,
       make_iclass_task},
      {"sentiment", "sentiment[:agree=F]",
       "review sentiment from word lexicons; template, domain and spurious-name shifts", false, make_sentiment_task},
      {"facts", "facts[:world=W,chains=C,augmented=0|1|self]",
       "fictional mentor facts (Lampinen et al. 2025): stated, reversed, composed", false, make_facts_task},
      {"gsm8k", "gsm8k", "GSM8K test problems, exemplars from train ($ELAB_DATA/gsm8k)", true, make_gsm8k_task},
      {"bbh", "bbh:<subtask>", "BIG-Bench-Hard subtask with its 3 CoT prompts ($ELAB_DATA/bbh)", true, make_bbh_task},
      {"jsonl", "jsonl:<path>", "question/answer[/rationale/split] lines of a JSONL file", true, make_jsonl_task},
  };
  return table;
}

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

const std::vector<TaskEntry>& task_registry() { return entries(); }

void register_task(TaskEntry entry) {
  std::lock_guard lock(registry_mutex());
  for (const auto& e : entries()) check(e.name != entry.name, "task {} is registered already", entry.name);
  entries().push_back(std::move(entry));
}

std::unique_ptr<Task> make_task(const std::string& spec) {
  auto colon = spec.find(':');
  std::string name = spec.substr(0, colon), args = colon == std::string::npos ? "" : spec.substr(colon + 1);
  std::vector<std::string> names;
  for (const auto& e : task_registry()) {
    if (e.name == name) return e.make(args);
    names.push_back(e.name);
  }
  fail_unknown("task", name, names);
}

std::vector<std::string> task_group(const std::string& spec) {
  if (spec != "bbh:all") return {};
  std::vector<std::string> members;
  for (const auto& name : bbh_subtasks()) members.push_back("bbh:" + name);
  check(!members.empty(), "task bbh:all: no BBH data found (bbh/tasks under {})",
        data_root().empty() ? "$ELAB_DATA" : data_root());
  return members;
}

}  // namespace elab
