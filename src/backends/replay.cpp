// The replay backend: recorded predictions (of any model, anywhere) scored with the
// task's extractor and the method's voting. A JSONL line names its test item by
// `index` (0-based position in the split's item list for the eval seed) or by
// `question`, optionally with `task` (needed when one file holds several tasks, e.g. all
// of bbh:all), and gives `prediction` (a string) or `predictions` (a list, for voting
// methods; "output" / "outputs" are read too, so `elab eval --samples` files replay as
// they are). Lines that match no item, and items without a line, are counted and reported.
#include "backends/replay.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
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
        by_index_[key] = records_.size();
      } else if (j.contains("question")) {
        check(j["question"].is_string(), "{}:{}: 'question' must be a string", path, l.line);
        by_question_[{r.task, j["question"].get<std::string>()}] = records_.size();
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
    int64_t missing = 0, short_lines = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
      const Record* r = nullptr;
      for (const std::string& task : {opts.task, std::string()}) {  // lines for this task, then lines for any
        if (r) break;
        if (auto it = by_index_.find({task, opts.item_index[i]}); it != by_index_.end()) {
          r = &records_[it->second];
          used[it->second] = true;
        } else if (auto q = by_question_.find({task, opts.item_question[i]}); q != by_question_.end()) {
          r = &records_[q->second];
          used[q->second] = true;
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
    int64_t unmatched = 0, lines_here = 0;  // lines of other tasks are not this call's to report
    for (size_t k = 0; k < records_.size(); ++k)
      if (records_[k].task.empty() || records_[k].task == opts.task) {
        ++lines_here;
        unmatched += !used[k];
      }
    notes_.clear();
    if (missing > 0) notes_.push_back(fmt::format("{} of {} test items have no line in {} (scored as no answer)", missing, prompts.size(), path_));
    if (unmatched > 0) notes_.push_back(fmt::format("{} of {} lines of {} match no test item", unmatched, lines_here, path_));
    if (short_lines > 0)
      notes_.push_back(fmt::format("{} lines have fewer than the method's {} predictions (the rest count as no answer)",
                                   short_lines, n));
    for (const auto& note : notes_) fmt::print(stderr, "replay: {}\n", note);
    return out;
  }

  std::vector<std::string> notes() const override { return notes_; }

 private:
  struct Record {
    int line = 0;
    std::string task;  // "" = any task
    std::vector<std::string> predictions;
  };
  std::string path_;
  std::vector<Record> records_;
  std::map<std::pair<std::string, int64_t>, size_t> by_index_;       // (task, index) -> record
  std::map<std::pair<std::string, std::string>, size_t> by_question_;  // (task, question) -> record
  std::vector<std::string> notes_;
};

}  // namespace

std::unique_ptr<Backend> make_replay_backend(const std::string& path) { return std::make_unique<ReplayBackend>(path); }

}  // namespace elab
