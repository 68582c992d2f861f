#pragma once
// Runs a study's jobs into its results store: only what is missing, parents before
// children, J at a time, optionally one shard of N. Finished work is never redone, so a
// study killed at any moment and started again ends with the same numbers. Runners that
// share the database (several `elab study run` of one study) split its jobs through
// claims in the database (ResultStore::claim) and never run a job twice.
#include <string>

#include "study/plan.h"
#include "study/spec.h"
#include "study/store.h"

namespace elab {

struct StudyRunOptions {
  std::string db;          // "" = <dir>/results.db (or results-shard-I-of-N.db with shards)
  int jobs = 1;            // jobs at once (each gets cores / jobs threads)
  int shard = 0, shards = 1;
  std::string device = "cpu";
  bool from_scratch = false;     // train every base, ignoring the study's shipped bases ([pretrain] shipped)
  bool require_shipped = false;  // refuse a pre-training job that no shipped base matches (the quickstart)
};

struct StudyRunSummary {
  int already_done = 0, ran = 0, failed = 0, blocked = 0;
  int elsewhere = 0;  // recorded done meanwhile by another runner sharing the database
  std::string db;
};

std::string default_db_path(const StudySpec& spec, int shard, int shards);
std::string model_dir(const StudySpec& spec, const std::string& job_key);

StudyRunSummary run_study(const StudySpec& spec, const StudyRunOptions& options);

// The records of the plan's jobs in a store: records of an older plan (other settings or
// task versions) stay in the database without entering a report.
std::vector<JobRecord> plan_records(const StudyPlan& plan, ResultStore& store);

}  // namespace elab
