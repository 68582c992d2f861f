#pragma once
// Shipped bases: pre-trained models committed in the repository (models/ladder), so that
// the quickstart evaluates and fine-tunes them in minutes instead of training them. A
// directory holds one sub-directory per base and index.json, their records: the study job
// each stands for (its key and spec), the equivalent `elab train` command, seed, data
// hash, content hash, the training outcome, and check metrics on a few test items that
// the tests recompute. A study names the directory in [pretrain] shipped; its
// pre-training jobs then install the base whose key matches, after checking its hash.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "study/job_spec.h"
#include "study/spec.h"
#include "study/store.h"

namespace elab {

// Accuracy and gold log-probability of a base on the first n items of a cell.
struct ShippedCheck {
  std::string task, split, method;
  int64_t n = 0;
  double accuracy = 0, gold_logprob = 0;
  uint64_t seed = 1;  // of the items (the study's seed)
};

struct ShippedBase {
  std::string name;          // its directory under the shipped directory
  std::string dir;           // the directory itself
  std::string key;           // the pre-training job key it stands for
  nlohmann::json spec;       // that job's spec
  std::string command;       // the equivalent elab train command
  std::string content_hash;  // of config.json and model.safetensors (model/adapters.h checkpoint_hash)
  PretrainOutcome outcome;
  std::vector<ShippedCheck> checks;
};

// index.json of a shipped directory; errors name the file and the entry.
std::vector<ShippedBase> read_shipped(const std::string& dir);

// Copies a shipped base into `out` (through a temporary directory, then a rename) after
// checking its content hash against its record: a mismatch is an Error that says how to
// retrain it.
PretrainOutcome install_shipped(const ShippedBase& base, const std::string& out);

// The equivalent command line of a pre-training job.
std::string train_command(const PretrainJobSpec& p, const std::string& out);

// Records the study's finished pre-training jobs as shipped bases in `out`: copies each
// model, measures its checks (the study's prompting cells, on `check_n` items) and writes
// index.json atomically. Returns the number of bases.
int ship_bases(const StudySpec& spec, ResultStore& store, const std::string& out, int64_t check_n);

// Recomputes a shipped base's checks: one line per check that differs (accuracy by more
// than one item in n, gold log-probability by more than 1e-3), empty when all agree.
std::vector<std::string> verify_shipped(const ShippedBase& base);

}  // namespace elab
