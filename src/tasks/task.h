#pragma once
// A task: a family of problems with splits (in-distribution "id" and out-of-distribution
// "ood-*" for generated tasks; "test" for file tasks), three disjoint pools per split
// (training data, ICL exemplars, test items), an answer extractor and a scorer.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace elab {

enum class Pool { train, exemplar, test };
// How answers are read: the task's own strict rule, or the lenient one (tasks/extract.h).
// `flexible` is lm-evaluation-harness's flexible-extract: the last number (or the last
// option) anywhere in the output, reported beside the strict rule for every evaluation.
enum class Extraction { strict, lenient, flexible };
const char* pool_name(Pool p);
Pool parse_pool(const std::string& name);

// How answers are read and compared (tasks/extract.h).
enum class AnswerKind {
  number,    // "1,000" == "1000", "$29.00" == "29"
  choice,    // "(B)"
  boolean,   // yes/no, true/false, valid/invalid, case-insensitive
  text,      // free text, whitespace-normalised
  sequence,  // a list of integers, separators ignored
};

struct Example {
  std::string question;
  std::string rationale;  // chain of thought, one step a line (each ending "\n"); "" when none
  std::string answer;
  std::string key;        // the problem's identity, independent of surface template
  std::string code;       // the computation as a small program printing the answer; "" when none
  std::map<std::string, std::string> attrs;  // "digits", "steps", "template", ...
};

// Pre-training data that belongs together in one document: a random world's facts stated,
// then questions about them (tasks/facts.cpp). The stated examples are context, whose
// answers cannot be predicted: under answer-only loss only the asked ones are targets.
struct Episode {
  std::vector<Example> stated, asked;
};

struct SplitInfo {
  std::string name;         // "id", "ood-length", ...
  std::string description;  // "1-3 digit operands"
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  virtual std::string instruction() const = 0;  // one sentence, for the instruct format
  virtual std::vector<SplitInfo> splits() const = 0;
  virtual AnswerKind answer_kind() const = 0;
  // Example `index` of `pool` in `split`, drawn from `seed`: the same arguments always
  // give the same example, and the three pools never share a problem.
  virtual Example example(const std::string& split, Pool pool, uint64_t seed, int64_t index) const = 0;
  // Number of distinct problems in a pool, or -1 when it is generated without bound.
  virtual int64_t pool_size(const std::string& split, Pool pool) const { return -1; }
  // The split evaluated when none is named: "id" for generated tasks, "test" for files.
  virtual std::string default_split() const { return "id"; }
  // The split exemplars and training data come from.
  virtual std::string exemplar_split() const { return "id"; }

  // A published few-shot prompt to use verbatim for `shots` exemplars in format `f`
  // (BBH's CoT prompt files), ending where the query's "Q: ..." begins; "" for none.
  virtual std::string verbatim_prompt(const std::string& format, int shots) const { return ""; }
  // Appended after the query's "A:" when the verbatim prompt is used.
  virtual std::string verbatim_answer_cue() const { return ""; }

  // The answer found in a model's output under `mode`; "" when none could be extracted.
  // `strict` is the task's own (for benchmarks, the published) rule; `lenient` the
  // kind-based rule with fallbacks (tasks/extract.h). Generated tasks have one rule.
  virtual std::string extract_answer(const std::string& output, Extraction mode = Extraction::strict) const;
  virtual bool is_correct(const std::string& extracted, const std::string& gold,
                          Extraction mode = Extraction::strict) const;
  // The rule by name and version, e.g. "bbh-exact@1"; a change in what a rule accepts
  // bumps its version, and with it the key of every evaluation job that used it.
  virtual std::string extractor_id(Extraction mode = Extraction::strict) const;
  // The closed answer set an item's answer is one of (yes/no, the options (A)-(E) its
  // question lists, a task's labels), as the answers are written; empty for open answers
  // (numbers, text), which likelihood scoring (method mc:K) cannot take.
  virtual std::vector<std::string> answer_options(const Example& e) const;
  // The generator's version: bumped whenever the examples it makes change.
  virtual int version() const { return 1; }

  // A task whose pre-training data comes as episodes (recipes, tasks/recipe.cpp) returns
  // one drawn from `seed`; the others return none and their examples are drawn one by one.
  virtual std::optional<Episode> episode(uint64_t seed) const { return std::nullopt; }

  // True when the test pool is a fixed list (a file's items, in file order, duplicates
  // kept) rather than a generator: evaluation then takes its first n items as they are.
  virtual bool fixed_test_items() const { return false; }

  // Throws an Error listing the task's splits when `split` is not one of them.
  void check_split(const std::string& split) const;
  std::vector<std::string> split_names() const;
};

// Which pool a problem belongs to: a fixed hash of task name and problem key, so the
// partition never depends on a seed: 80% training, 10% exemplars, 10% test.
Pool pool_of(const std::string& task_name, const std::string& key);

}  // namespace elab
