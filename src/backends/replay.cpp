// The replay backend: recorded predictions (of any model, anywhere) scored with the
// task's extractor and the method's voting. A JSONL line names its test item by
// `index` (0-based position in the split's item list for the eval seed) or by
// `question`, optionally with `task` (needed when one file holds several tasks, e.g. all
// of bbh:all), and gives `prediction` (a string) or `predictions` (a list, for voting
// methods; "output" / "outputs" are read too, so `elab eval --samples` files replay as
// they are). A question that the split holds more than once (official test sets repeat
// some) is matched in order: its k-th line answers its k-th item; an index says it exactly.
// Lines that match no item, lines beyond -n, and items without a line are counted and
// reported. Without -n, a generated task is evaluated on as many items as the file covers.
#include "backends/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "tasks/file_task.h"

namespace elab {
namespace {

class ReplayBackend : public Backend {
 public:
  explicit ReplayBackend(const std::string& path) : path_(path) {
    for (const auto& l : read_lines(path)) {
      auto j = nlohmann::json::parse(l.text, nullptr, false);
      check(!j.is_discarded() && j.is_object(), "{}:{}: not a JSON object", path, l.line);
      Record r;
      r.line = l.line;
      if (j.contains("task")) {
        check(j["task"].is_string(), "{}:{}: 'task' must be a string", path, l.line);
        r.task = j["task"];
      }
      // `elab eval --samples` lines replay as they are: "output" / "outputs".
      if (!j.contains("prediction") && j.contains("output")) j["prediction"] = j["output"];
      if (!j.contains("predictions") && j.contains("outputs")) j["predictions"] = j["outputs"];
      if (j.contains("prediction")) {
        check(j["prediction"].is_string(), "{}:{}: 'prediction' must be a string", path, l.line);
        r.predictions = {j["prediction"].get<std::string>()};
      } else if (j.contains("predictions")) {
        check(j["predictions"].is_array() && !j["predictions"].empty(), "{}:{}: 'predictions' must be a non-empty list",
              path, l.line);
        for (const auto& p : j["predictions"]) {
          check(p.is_string(), "{}:{}: 'predictions' must hold strings", path, l.line);
          r.predictions.push_back(p);
        }
      } else {
        fail("{}:{}: a line needs 'prediction' or 'predictions'", path, l.line);
      }
      if (j.contains("index")) {
        check(j["index"].is_number_integer() && j["index"].get<int64_t>() >= 0, "{}:{}: 'index' must be an integer >= 0",
              path, l.line);
        const auto key = std::make_pair(r.task, j["index"].get<int64_t>());
        check(!by_index_.count(key), "{}:{}: index {} appears twice", path, l.line, key.second);
        r.index = key.second;
        by_index_[key] = records_.size();
      } else if (j.contains("question")) {
        check(j["question"].is_string(), "{}:{}: 'question' must be a string", path, l.line);
        by_question_[{r.task, j["question"].get<std::string>()}].push_back(records_.size());
      } else {
        fail("{}:{}: a line needs 'index' or 'question' to name its test item", path, l.line);
      }
      records_.push_back(std::move(r));
    }
    check(!records_.empty(), "{}: no predictions", path);
  }

  std::string name() const override { return "replay:" + path_; }

  std::vector<Completion> complete(const std::vector<std::string>& prompts, const GenerateOptions& opts) override {
    check(opts.item_index.size() == prompts.size() && opts.item_question.size() == prompts.size(),
          "replay:{}: the evaluator did not say which test item each prompt asks", path_);
    const size_t n = size_t(opts.num_samples);
    std::vector<Completion> out(prompts.size() * n);
    std::vector<bool> used(records_.size(), false);
    std::map<std::pair<std::string, std::string>, size_t> seen;  // (task, question) -> items asked so far
    int64_t missing = 0, short_lines = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
      const Record* r = nullptr;
      for (const std::string& task : {opts.task, std::string()}) {  // lines for this task, then lines for any
        if (r) break;
        if (auto it = by_index_.find({task, opts.item_index[i]}); it != by_index_.end()) {
          r = &records_[it->second];
          used[it->second] = true;
        } else if (auto q = by_question_.find({task, opts.item_question[i]}); q != by_question_.end()) {
          const size_t k = seen[q->first]++;  // the k-th asking of this question takes its k-th line
          if (k < q->second.size()) {
            r = &records_[q->second[k]];
            used[q->second[k]] = true;
          }
        }
      }
      if (!r) {
        ++missing;  // scored as no answer
        continue;
      }
      if (r->predictions.size() < n) ++short_lines;
      for (size_t j = 0; j < n && j < r->predictions.size(); ++j) {
        out[i * n + j].text = r->predictions[j];
        out[i * n + j].tokens = int64_t(r->predictions[j].size());
      }
    }
    int64_t unmatched = 0, beyond = 0, lines_here = 0;  // lines of other tasks are not this call's to report
    for (size_t k = 0; k < records_.size(); ++k)
      if (records_[k].task.empty() || records_[k].task == opts.task) {
        ++lines_here;
        if (used[k]) continue;
        // An index past the items asked for is a line beyond -n, not a stray one.
        (records_[k].index >= int64_t(prompts.size()) ? beyond : unmatched) += 1;
      }
    notes_.clear();
    if (missing > 0) notes_.push_back(fmt::format("{} of {} test items have no line in {} (scored as no answer)", missing, prompts.size(), path_));
    if (beyond > 0)
      notes_.push_back(fmt::format("{} of {} lines of {} are for items beyond the {} evaluated (-n); -n all scores the "
                                   "whole split", beyond, lines_here, path_, prompts.size()));
    if (unmatched > 0) notes_.push_back(fmt::format("{} of {} lines of {} match no test item", unmatched, lines_here, path_));
    if (short_lines > 0)
      notes_.push_back(fmt::format("{} lines have fewer than the method's {} predictions (the rest count as no answer)",
                                   short_lines, n));
    for (const auto& note : notes_) fmt::print(stderr, "replay: {}\n", note);
    return out;
  }

  std::vector<std::string> notes() const override { return notes_; }

  // Items the file answers for `task`: one past its largest index, or its lines by question.
  int64_t items_covered(const std::string& task) const override {
    int64_t by_index = 0, by_question = 0;
    for (const auto& r : records_) {
      if (!r.task.empty() && r.task != task) continue;
      if (r.index >= 0) by_index = std::max(by_index, r.index + 1);
      else ++by_question;
    }
    return std::max(by_index, by_question);
  }

 private:
  struct Record {
    int line = 0;
    std::string task;    // "" = any task
    int64_t index = -1;  // -1 = matched by question
    std::vector<std::string> predictions;
  };
  std::string path_;
  std::vector<Record> records_;
  std::map<std::pair<std::string, int64_t>, size_t> by_index_;       // (task, index) -> record
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> by_question_;  // (task, question) -> records, file order
  std::vector<std::string> notes_;
};

}  // namespace

std::unique_ptr<Backend> make_replay_backend(const std::string& path) { return std::make_unique<ReplayBackend>(path); }

}  // namespace elab
