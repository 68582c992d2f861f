// gsm8k: GSM8K grade-school word problems from JSONL files ({"question", "answer"} with
// the answer text ending in "#### N"). The rationale is the answer text before "####".
// Test items: $ELAB_DATA/gsm8k/test.jsonl; exemplars: $ELAB_DATA/gsm8k/train.jsonl.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fs.h"
#include "tasks/extract.h"
#include "tasks/file_task.h"
#include "tasks/registry.h"

namespace elab {
namespace {

// One GSM8K record, or an Error "file:line: what is wrong".
Example parse_gsm8k(const std::string& path, const TextLine& l) {
  nlohmann::json j = nlohmann::json::parse(l.text, nullptr, false);
  check(!j.is_discarded() && j.is_object(), "{}:{}: not a JSON object", path, l.line);
  check(j.contains("question") && j["question"].is_string(), "{}:{}: missing string field 'question'", path, l.line);
  check(j.contains("answer") && j["answer"].is_string(), "{}:{}: missing string field 'answer'", path, l.line);
  std::string text = j["answer"];
  size_t mark = text.rfind("####");
  check(mark != std::string::npos, "{}:{}: answer has no '#### N' line", path, l.line);
  Example e;
  e.question = j["question"];
  e.answer = normalize_number(text.substr(mark + 4));
  check(!e.answer.empty(), "{}:{}: '####' is not followed by a number", path, l.line);
  // Calculator annotations ("<<48/2=24>>") are for the dataset's tooling, not the reader.
  for (size_t i = 0; i < mark; ++i) {
    size_t close = text.compare(i, 2, "<<") == 0 ? text.find(">>", i + 2) : std::string::npos;
    if (close != std::string::npos && close < mark) {
      i = close + 1;
      continue;
    }
    e.rationale += text[i];
  }
  while (!e.rationale.empty() && (e.rationale.back() == '\n' || e.rationale.back() == ' ')) e.rationale.pop_back();
  if (!e.rationale.empty()) e.rationale += "\n";
  e.key = e.question;
  e.attrs["steps"] = std::to_string(std::count(e.rationale.begin(), e.rationale.end(), '\n'));
  e.attrs["gold_text"] = text;
  return e;
}

std::vector<Example> load(const std::string& path) {
  std::vector<Example> out;
  int bad = 0;
  for (const auto& l : read_lines(path)) {
    try {
      out.push_back(parse_gsm8k(path, l));
    } catch (const Error&) {
      if (!skip_bad_lines()) throw;
      ++bad;
    }
  }
  if (bad) fmt::print(stderr, "{}: skipped {} malformed lines (--skip-bad)\n", path, bad);
  return out;
}

class Gsm8kTask : public FileTask {
 public:
  explicit Gsm8kTask(const std::string& args) {
    check(args.empty(), "task gsm8k takes no options (got '{}'); point ELAB_DATA at the data folder", args);
    test_splits_ = {"test"};
    test_items_ = {load(data_path("gsm8k/test.jsonl", "task gsm8k"))};
    exemplar_items_ = load(data_path("gsm8k/train.jsonl", "task gsm8k"));
    kind_ = AnswerKind::number;
  }
  std::string name() const override { return "gsm8k"; }
  std::string description() const override { return "GSM8K grade-school math (test file; exemplars from train)"; }
  std::string instruction() const override { return "Solve the math word problem."; }
  std::vector<SplitInfo> splits() const override {
    return {{"test", fmt::format("{} problems of gsm8k/test.jsonl", test_items_[0].size())}};
  }
  // Strict: the published rule (tasks/extract.h), the number compared as a string.
  std::string extract_answer(const std::string& output, Extraction mode) const override {
    return mode == Extraction::strict ? extract_gsm8k_strict(output) : FileTask::extract_answer(output, mode);
  }
  bool is_correct(const std::string& extracted, const std::string& gold, Extraction mode) const override {
    return mode == Extraction::strict ? !extracted.empty() && extracted == gsm8k_gold(gold)
                                      : FileTask::is_correct(extracted, gold, mode);
  }
  std::string extractor_id(Extraction mode) const override {
    return mode == Extraction::strict ? "gsm8k-strict@1" : FileTask::extractor_id(mode);
  }
};

}  // namespace

std::unique_ptr<Task> make_gsm8k_task(const std::string& args) { return std::make_unique<Gsm8kTask>(args); }

}  // namespace elab
