#pragma once
// Tasks read from files (GSM8K, BIG-Bench-Hard, generic JSONL). Their test pool is the
// file's items in file order, duplicates kept as the official sets have them (index i =
// item i, whatever the seed, so replay files can refer to items by position); exemplars and training examples come from a separate
// file or split, in an order shuffled by the seed.
#include <string>
#include <vector>

#include "tasks/task.h"

namespace elab {

// Where the shared data lives: $ELAB_DATA, else ../shared/data beside the checkout
// (found from the executable's location or the working directory); "" if nowhere.
std::string data_root();
// A file under the data root, or an Error that says where it was looked for.
std::string data_path(const std::string& relative, const std::string& what);

// Malformed lines of JSONL files: fatal by default; skipped and counted when on.
void set_skip_bad_lines(bool skip);
bool skip_bad_lines();


class FileTask : public Task {
 public:
  Example example(const std::string& split, Pool pool, uint64_t seed, int64_t index) const override;
  int64_t pool_size(const std::string& split, Pool pool) const override;
  std::string default_split() const override { return "test"; }
  std::string exemplar_split() const override { return "test"; }
  AnswerKind answer_kind() const override { return kind_; }
  bool fixed_test_items() const override { return true; }

 protected:
  const std::vector<Example>& items(const std::string& split, Pool pool) const;
  std::vector<std::string> test_splits_;         // split names with test items
  std::vector<std::vector<Example>> test_items_;  // per split, file order
  std::vector<Example> exemplar_items_;           // exemplar (and training) pool
  AnswerKind kind_ = AnswerKind::text;
};

// The kind that fits every answer: numbers, choices "(A)", yes/no words, else text.
AnswerKind infer_answer_kind(const std::vector<std::string>& answers);

}  // namespace elab
