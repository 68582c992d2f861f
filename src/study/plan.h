#pragma once
// A study expanded into jobs: pre-train -> fine-tune -> evaluate. Each job is keyed by a
// hash of everything that determines its result (its settings, seeds, and its parent's
// key, which covers the parent's data and settings); the code version is left out, so a
// rebuilt binary reuses finished work.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "study/spec.h"

namespace elab {

struct StudyJob {
  std::string key;     // 16 hex digits
  std::string kind;    // "pretrain", "finetune" or "eval"
  nlohmann::json spec; // everything the job needs (and the report reads)
  std::string parent;  // key of the model job it uses ("" for pre-training)
  std::string group;   // key of its pre-training job: the unit of sharding
};

struct StudyPlan {
  std::vector<StudyJob> jobs;          // parents before children
  std::vector<std::string> skipped;    // "task T has no split S", one line each
};

StudyPlan plan_study(const StudySpec& spec);

// Shard i of n (0-based) holds whole pre-training groups, dealt out in plan order:
// one flag per job of the plan.
std::vector<bool> shard_mask(const StudyPlan& plan, int shard, int shards);

}  // namespace elab
