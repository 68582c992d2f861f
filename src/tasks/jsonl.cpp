// jsonl:<path>: a generic task from a JSONL file, one object a line with "question",
// "answer", optional "rationale" and optional "split" (default "test"). Items of split
// "train" form the exemplar pool; every other split is a test split. The answer kind
// (number, choice, yes/no, text) is inferred from the answers.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "tasks/file_task.h"
#include "tasks/registry.h"

namespace elab {
namespace {

class JsonlTask : public FileTask {
 public:
  explicit JsonlTask(const std::string& path) : path_(path) {
    check(!path.empty(), "task jsonl needs a file: jsonl:<path>");
    check(std::filesystem::exists(path), "task jsonl: {} does not exist", path);
    int bad = 0;
    std::vector<std::string> answers;
    for (const auto& l : read_lines(path)) {
      try {
        nlohmann::json j = nlohmann::json::parse(l.text, nullptr, false);
        check(!j.is_discarded() && j.is_object(), "{}:{}: not a JSON object", path, l.line);
        for (const char* f : {"question", "answer"})
          check(j.contains(f) && j[f].is_string(), "{}:{}: missing string field '{}'", path, l.line, f);
        for (const char* f : {"rationale", "split"})
          check(!j.contains(f) || j[f].is_string(), "{}:{}: field '{}' must be a string", path, l.line, f);
        Example e;
        e.question = j["question"];
        e.answer = j["answer"];
        e.rationale = j.value("rationale", "");
        if (!e.rationale.empty() && e.rationale.back() != '\n') e.rationale += "\n";
        e.key = e.question;
        std::string split = j.value("split", "test");
        answers.push_back(e.answer);
        if (split == "train") {
          exemplar_items_.push_back(std::move(e));
          continue;
        }
        auto it = std::find(test_splits_.begin(), test_splits_.end(), split);
        if (it == test_splits_.end()) {
          test_splits_.push_back(split);
          test_items_.emplace_back();
          it = test_splits_.end() - 1;
        }
        test_items_[size_t(it - test_splits_.begin())].push_back(std::move(e));
      } catch (const Error&) {
        if (!skip_bad_lines()) throw;
        ++bad;
      }
    }
    if (bad) fmt::print(stderr, "{}: skipped {} malformed lines (--skip-bad)\n", path, bad);
    check(!test_splits_.empty(), "{}: no test items (every line has split \"train\", or the file is empty)", path);
    kind_ = infer_answer_kind(answers);
  }
  std::string name() const override { return "jsonl:" + path_; }
  std::string description() const override { return "questions and answers from " + path_; }
  std::string instruction() const override { return "Answer the question."; }
  std::string default_split() const override { return test_splits_[0]; }
  std::string exemplar_split() const override { return test_splits_[0]; }
  std::vector<SplitInfo> splits() const override {
    std::vector<SplitInfo> out;
    for (size_t i = 0; i < test_splits_.size(); ++i)
      out.push_back({test_splits_[i], fmt::format("{} items", test_items_[i].size())});
    return out;
  }

 private:
  std::string path_;
};

}  // namespace

std::unique_ptr<Task> make_jsonl_task(const std::string& args) { return std::make_unique<JsonlTask>(args); }

}  // namespace elab
