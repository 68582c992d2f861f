#pragma once
// A study expanded into jobs: pre-train (or take a source) -> fine-tune -> evaluate.
// Each job is keyed by a hash of everything that determines its result: its typed spec
// (study/job_spec.h: settings, seeds, the versions of the tasks and extractors it uses,
// the worker count that fixes its sums) and its parent's key, which covers the parent's
// data and settings. The code version is left out, so a rebuilt binary reuses finished
// work; a changed task or extractor version re-runs exactly the jobs that use it.
#include <string>
#include <vector>

#include "study/job_spec.h"
#include "study/spec.h"

namespace elab {

struct StudyJob {
  std::string key;     // 16 hex digits
  JobSpec spec;        // everything the job needs (and the report reads)
  std::string parent;  // key of the model job it uses ("" for pre-training and sources)
  std::string group;   // key of its base's job: the unit of sharding
  std::string kind() const { return job_kind(spec); }
};

struct StudyPlan {
  std::vector<StudyJob> jobs;          // parents before children
};

std::string job_key(const JobSpec& spec, const std::string& parent);

StudyPlan plan_study(const StudySpec& spec);

// Shard i of n (0-based) holds whole base groups, dealt out in plan order: one flag per
// job of the plan.
std::vector<bool> shard_mask(const StudyPlan& plan, int shard, int shards);

// "eval s/add/s1+ft:lora:8 add id icl:4": a job for progress lines and status tables.
std::string describe_job(const StudyPlan& plan, const StudyJob& job);

}  // namespace elab
