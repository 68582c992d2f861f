#pragma once
// The results store: one SQLite file per study (or per shard). A job's result and its
// per-example samples are written in one transaction, so a crash leaves either the whole
// result or none of it. Records are typed (study/job_spec.h); their JSON is this file's
// edge. Torch-free.
#include <memory>
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

  static constexpr int kSchemaVersion = 1;

 private:
  std::unique_ptr<SqliteDb> db_;
  std::string path_;
};

}  // namespace elab
