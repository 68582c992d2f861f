// bbh:<subtask>: BIG-Bench-Hard. Test items from tasks/<subtask>.json
// ({"examples": [{"input", "target"}]}); exemplars are the subtask's three chain-of-
// thought prompts from cot-prompts/<subtask>.txt (Q: ... A: Let's think step by step.
// ... So the answer is X.).
#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/error.h"
#include "core/fs.h"
#include "core/names.h"
#include "tasks/extract.h"
#include "tasks/file_task.h"
#include "tasks/registry.h"

namespace elab {
namespace {

std::vector<Example> load_examples(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers too large for a double
    fail("{}: malformed JSON: {}", path, e.what());
  }
  check(j.is_object() && j.contains("examples") && j["examples"].is_array(), "{}: expected an object with an 'examples' array",
        path);
  std::vector<Example> out;
  for (size_t i = 0; i < j["examples"].size(); ++i) {
    const auto& x = j["examples"][i];
    check(x.is_object() && x.contains("input") && x["input"].is_string() && x.contains("target") && x["target"].is_string(),
          "{}: examples[{}] needs string fields 'input' and 'target'", path, i);
    Example e;
    e.question = x["input"];
    e.answer = x["target"];
    e.key = e.question;
    out.push_back(std::move(e));
  }
  check(!out.empty(), "{}: no examples", path);
  return out;
}

// Q:/A: blocks after the "-----" line and the task description.
std::vector<Example> load_cot_prompts(const std::string& path) {
  std::string text = read_file(path);
  size_t start = text.find("-----");
  check(start != std::string::npos, "{}: no '-----' line before the prompts", path);
  text = text.substr(start + 5);
  std::vector<Example> out;
  size_t pos = 0;
  while ((pos = text.find("Q: ", pos)) != std::string::npos) {
    size_t a = text.find("\nA: ", pos);
    check(a != std::string::npos, "{}: a 'Q:' without its 'A:'", path);
    size_t next = text.find("\n\nQ: ", a);
    std::string answer_block = text.substr(a + 4, next == std::string::npos ? std::string::npos : next - a - 4);
    static const std::regex final_answer(R"(So the answer is (.*?)\.?\s*$)");
    std::smatch m;
    check(std::regex_search(answer_block, m, final_answer), "{}: an exemplar lacks 'So the answer is X.'", path);
    Example e;
    e.question = text.substr(pos + 3, a - pos - 3);
    e.answer = m[1];
    e.rationale = answer_block.substr(0, size_t(m.position()));
    while (!e.rationale.empty() && std::isspace(static_cast<unsigned char>(e.rationale.back()))) e.rationale.pop_back();
    e.rationale += "\n";
    e.key = e.question;
    e.attrs["steps"] = std::to_string(std::count(e.rationale.begin(), e.rationale.end(), '\n'));
    out.push_back(std::move(e));
    if (next == std::string::npos) break;
    pos = next + 2;
  }
  check(!out.empty(), "{}: no exemplars found", path);
  return out;
}

class BbhTask : public FileTask {
 public:
  explicit BbhTask(const std::string& subtask) : subtask_(subtask) {
    check(!subtask.empty(), "task bbh needs a subtask: bbh:<subtask>, e.g. bbh:date_understanding");
    std::string dir = data_path("bbh/tasks", "task bbh");
    if (!std::filesystem::exists(std::filesystem::path(dir) / (subtask + ".json"))) {
      std::vector<std::string> names;
      for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
      std::sort(names.begin(), names.end());
      fail_unknown("BBH subtask", subtask, names);
    }
    test_splits_ = {"test"};
    test_items_ = {load_examples(data_path("bbh/tasks/" + subtask + ".json", "task bbh:" + subtask))};
    const std::string prompt_path = data_path("bbh/cot-prompts/" + subtask + ".txt", "task bbh:" + subtask);
    exemplar_items_ = load_cot_prompts(prompt_path);
    // The shipped prompt as it is: the description and three Q:/A: blocks after "-----".
    const std::string text = read_file(prompt_path);
    verbatim_ = text.substr(text.find("-----") + 5);
    while (!verbatim_.empty() && (verbatim_.front() == '\n' || verbatim_.front() == '\r')) verbatim_.erase(0, 1);
    while (!verbatim_.empty() && std::isspace(static_cast<unsigned char>(verbatim_.back()))) verbatim_.pop_back();
    verbatim_ += "\n\n";
    std::vector<std::string> answers;
    for (const auto& e : test_items_[0]) answers.push_back(e.answer);
    kind_ = infer_answer_kind(answers);
  }
  std::string name() const override { return "bbh:" + subtask_; }
  std::string description() const override { return "BIG-Bench-Hard subtask " + subtask_ + " (3 CoT exemplars)"; }
  std::string instruction() const override { return "Answer the question."; }
  std::string verbatim_prompt(const std::string& format, int shots) const override {
    return format == "cot" && shots == int(exemplar_items_.size()) ? verbatim_ : "";
  }
  std::string verbatim_answer_cue() const override { return " Let's think step by step."; }
  // Strict: the benchmark's rule (tasks/extract.h), exact match with the target as written.
  std::string extract_answer(const std::string& output, Extraction mode) const override {
    return mode == Extraction::strict ? extract_bbh_strict(output) : FileTask::extract_answer(output, mode);
  }
  bool is_correct(const std::string& extracted, const std::string& gold, Extraction mode) const override {
    return mode == Extraction::strict ? !extracted.empty() && extracted == gold : FileTask::is_correct(extracted, gold, mode);
  }
  std::string extractor_id(Extraction mode) const override {
    return mode == Extraction::strict ? "bbh-exact@1" : FileTask::extractor_id(mode);
  }
  std::vector<SplitInfo> splits() const override {
    return {{"test", fmt::format("{} items of bbh/tasks/{}.json", test_items_[0].size(), subtask_)}};
  }

 private:
  std::string subtask_;
  std::string verbatim_;
};

}  // namespace

std::unique_ptr<Task> make_bbh_task(const std::string& args) { return std::make_unique<BbhTask>(args); }

std::vector<std::string> bbh_subtasks() {
  std::vector<std::string> names;
  std::string root = data_root();
  std::filesystem::path dir = std::filesystem::path(root) / "bbh" / "tasks";
  if (root.empty() || !std::filesystem::is_directory(dir)) return names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace elab
