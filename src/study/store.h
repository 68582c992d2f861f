#pragma once
// The results store: one SQLite file per study (or per shard). A job's result and its
// per-example samples are written in one transaction, so a crash leaves either the whole
// result or none of it; the record replaces the job's claim (see claim()). Records are typed (study/job_spec.h); their JSON is this file's
// edge. Torch-free.
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "study/job_spec.h"

namespace elab {

class SqliteDb;

class ResultStore {
 public:
  // Creates the file if missing. A file that is not an elab results database, is corrupt,
  // or has a newer schema is an Error and is left untouched.
  explicit ResultStore(const std::string& path);
  ~ResultStore();
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;

  std::optional<JobRecord> find(const std::string& key);
  std::vector<JobRecord> all();
  // Records a finished job and its samples atomically (replacing a failed attempt).
  void put(const JobRecord& record, const std::vector<nlohmann::json>& samples = {});
  std::vector<nlohmann::json> samples(const std::string& key);
  // Copies every job (and samples) of `other` that this store lacks or has only failed.
  int64_t merge_from(const std::string& other_path);
  const std::string& path() const { return path_; }

  // Claims: runners that share the database (processes on one machine, or machines on
  // one file system) split a study's jobs. A runner claims a job before running it; its
  // claims carry a heartbeat, and a claim whose heartbeat is older than `expiry` seconds
  // is a dead runner's and may be taken over. Times are Unix seconds.
  // True when `runner` now holds `key`: no record of it is done, and no other runner
  // holds a live claim. One transaction, so two runners never both get true.
  bool claim(const std::string& key, const std::string& runner, double now, double expiry);
  enum class Elsewhere { done, running, free };
  // Where a job that another runner claimed stands: recorded done, still held by a live
  // claim, or free again (its runner failed it or died).
  Elsewhere elsewhere(const std::string& key, const std::string& runner, double now, double expiry);
  void heartbeat(const std::string& runner, double now);
  // Drops every claim of `runner` (the end of its run, or an interruption).
  void release(const std::string& runner);

  static constexpr int kSchemaVersion = 1;

 private:
  std::unique_ptr<SqliteDb> db_;
  std::string path_;
  // One connection, used by every worker thread of a run: one statement or transaction
  // at a time (SQLite's BEGIN cannot nest on a connection).
  std::recursive_mutex mutex_;
};

}  // namespace elab
