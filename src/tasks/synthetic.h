#pragma once
// What every generated task shares: options from the task spec ("add:digits=2"),
// surface templates, and drawing by rejection so that each problem (by key) lands in
// exactly one pool. A task implements draw() and names its splits.
#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "tasks/task.h"

namespace elab {

// Options of a task spec: "digits=2,templates=0+1".
class TaskOptions {
 public:
  TaskOptions(std::string task, const std::string& args, std::vector<std::string> known);
  int64_t integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const;
  double real(const std::string& key, double fallback, double lo, double hi) const;
  // One of `allowed` (an Error listing them otherwise); `fallback` when absent.
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& allowed) const;
  // "0+2" -> {0, 2}; every index below `count`; all of them when absent.
  std::vector<int> templates(int count) const;

 private:
  std::string task_;
  std::map<std::string, std::string> values_;
};

class SyntheticTask : public Task {
 public:
  Example example(const std::string& split, Pool pool, uint64_t seed, int64_t index) const override;

 protected:
  // One random problem of `split` (already checked), any pool.
  virtual Example draw(const std::string& split, Rng& rng) const = 0;
  // Templates a split may use; by default the ones chosen in the options.
  virtual std::vector<int> templates_for(const std::string& split) const { return templates_; }
  int pick_template(const std::string& split, Rng& rng) const;

  std::vector<int> templates_;
};

// Fills "{a}" style placeholders.
std::string fill(const std::string& pattern, const std::map<std::string, std::string>& values);

}  // namespace elab
