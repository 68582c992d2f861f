#include "study/store.h"

#include <sqlite3.h>

#include "core/error.h"
#include "core/fs.h"

namespace elab {

namespace {

struct Statement {
  sqlite3_stmt* st = nullptr;
  Statement(sqlite3* db, const char* sql, const std::string& path) {
    check(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK, "{}: {}", path, sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(st); }
  void bind(int i, const std::string& s) { sqlite3_bind_text(st, i, s.c_str(), int(s.size()), SQLITE_TRANSIENT); }
  void bind(int i, double x) { sqlite3_bind_double(st, i, x); }
  void bind(int i, int64_t x) { sqlite3_bind_int64(st, i, x); }
  std::string text(int i) {
    auto p = sqlite3_column_text(st, i);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
};

JobRecord read_job(Statement& s) {
  JobRecord r;
  r.key = s.text(0);
  r.kind = s.text(1);
  r.group = s.text(2);
  r.parent = s.text(3);
  r.spec = nlohmann::json::parse(s.text(4), nullptr, false);
  r.status = s.text(5);
  r.error = s.text(6);
  r.result = nlohmann::json::parse(s.text(7).empty() ? "null" : s.text(7), nullptr, false);
  r.seconds = sqlite3_column_double(s.st, 8);
  return r;
}

constexpr const char* kColumns = "key, kind, grp, parent, spec, status, error, result, seconds";

}  // namespace

ResultStore::ResultStore(const std::string& path) : path_(path) {
  const bool existed = fs::exists(path);
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
  check(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) == SQLITE_OK,
        "{}: cannot open the results database: {}", path, db_ ? sqlite3_errmsg(db_) : "out of memory");
  sqlite3_busy_timeout(db_, 10000);
  try {
    if (existed) {
      // Read before writing anything: a foreign or corrupt file must stay as it is.
      Statement s(db_, "SELECT value FROM elab_meta WHERE name = 'schema_version'", path);
      check(sqlite3_step(s.st) == SQLITE_ROW, "{}: not an elab results database (no schema version)", path);
      const int version = std::stoi(s.text(0));
      check(version <= kSchemaVersion,
            "{}: results database schema {} is newer than this elab's ({}); use a newer elab", path, version,
            kSchemaVersion);
    }
    exec("PRAGMA journal_mode=WAL");
    exec("CREATE TABLE IF NOT EXISTS elab_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)");
    exec(fmt::format("INSERT OR IGNORE INTO elab_meta VALUES ('schema_version', '{}')", kSchemaVersion));
    exec("CREATE TABLE IF NOT EXISTS jobs (key TEXT PRIMARY KEY, kind TEXT, grp TEXT, parent TEXT, spec TEXT, "
         "status TEXT, error TEXT, result TEXT, seconds REAL)");
    exec("CREATE TABLE IF NOT EXISTS samples (job TEXT, idx INTEGER, sample TEXT, PRIMARY KEY (job, idx))");
  } catch (const Error& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

ResultStore::~ResultStore() {
  if (db_) sqlite3_close(db_);
}

void ResultStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    fail("{}: {} (is it an elab results database?)", path_, msg);
  }
}

std::optional<JobRecord> ResultStore::find(const std::string& key) {
  Statement s(db_, fmt::format("SELECT {} FROM jobs WHERE key = ?", kColumns).c_str(), path_);
  s.bind(1, key);
  if (sqlite3_step(s.st) != SQLITE_ROW) return std::nullopt;
  return read_job(s);
}

std::vector<JobRecord> ResultStore::all() {
  Statement s(db_, fmt::format("SELECT {} FROM jobs ORDER BY rowid", kColumns).c_str(), path_);
  std::vector<JobRecord> out;
  while (sqlite3_step(s.st) == SQLITE_ROW) out.push_back(read_job(s));
  return out;
}

void ResultStore::put(const JobRecord& r, const std::vector<nlohmann::json>& samples) {
  const auto replace = nlohmann::json::error_handler_t::replace;
  exec("BEGIN IMMEDIATE");
  try {
    {
      Statement d(db_, "DELETE FROM samples WHERE job = ?", path_);
      d.bind(1, r.key);
      sqlite3_step(d.st);
    }
    Statement s(db_, "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", path_);
    s.bind(1, r.key);
    s.bind(2, r.kind);
    s.bind(3, r.group);
    s.bind(4, r.parent);
    s.bind(5, r.spec.dump());
    s.bind(6, r.status);
    s.bind(7, r.error);
    s.bind(8, r.result.dump(-1, ' ', false, replace));
    s.bind(9, r.seconds);
    check(sqlite3_step(s.st) == SQLITE_DONE, "{}: cannot record job {}: {}", path_, r.key, sqlite3_errmsg(db_));
    for (size_t i = 0; i < samples.size(); ++i) {
      Statement x(db_, "INSERT INTO samples VALUES (?, ?, ?)", path_);
      x.bind(1, r.key);
      x.bind(2, int64_t(i));
      x.bind(3, samples[i].dump(-1, ' ', false, replace));
      check(sqlite3_step(x.st) == SQLITE_DONE, "{}: cannot record samples of {}: {}", path_, r.key, sqlite3_errmsg(db_));
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<nlohmann::json> ResultStore::samples(const std::string& key) {
  Statement s(db_, "SELECT sample FROM samples WHERE job = ? ORDER BY idx", path_);
  s.bind(1, key);
  std::vector<nlohmann::json> out;
  while (sqlite3_step(s.st) == SQLITE_ROW) out.push_back(nlohmann::json::parse(s.text(0), nullptr, false));
  return out;
}

int64_t ResultStore::merge_from(const std::string& other_path) {
  check(fs::exists(other_path), "{}: results database does not exist", other_path);
  ResultStore other(other_path);
  int64_t copied = 0;
  for (const auto& r : other.all()) {
    auto mine = find(r.key);
    if (mine && (mine->status == "done" || r.status != "done")) continue;
    put(r, other.samples(r.key));
    ++copied;
  }
  return copied;
}

}  // namespace elab
