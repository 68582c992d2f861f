#include "study/store.h"

#include "core/error.h"
#include "core/fs.h"
#include "core/sqlite.h"

namespace elab {

namespace {

JobRecord read_job(const SqliteStatement& s, const std::string& path) {
  JobRecord r;
  r.key = s.text(0);
  r.kind = s.text(1);
  r.group = s.text(2);
  r.parent = s.text(3);
  const std::string where = fmt::format("{}: job {}", path, r.key);
  auto parse = [&](const std::string& text, const char* column) {
    auto j = nlohmann::json::parse(text.empty() ? "null" : text, nullptr, false);
    check(!j.is_discarded(), "{}: the {} column is not JSON", where, column);
    return j;
  };
  r.spec = job_spec_from_json(r.kind, parse(s.text(4), "spec"), where);
  r.status = s.text(5);
  r.error = s.text(6);
  if (r.status == "done") r.result = job_result_from_json(r.kind, parse(s.text(7), "result"), where);
  r.seconds = s.real(8);
  return r;
}

constexpr const char* kColumns = "key, kind, grp, parent, spec, status, error, result, seconds";

}  // namespace

ResultStore::ResultStore(const std::string& path) : path_(path) {
  const bool existed = fs::exists(path);
  db_ = std::make_unique<SqliteDb>(path, "results database");
  if (existed) {
    // Read before writing anything: a foreign or corrupt file must stay as it is.
    SqliteStatement s(*db_, "SELECT value FROM elab_meta WHERE name = 'schema_version'");
    check(s.step(), "{}: not an elab results database (no schema version)", path);
    const int version = std::stoi(s.text(0));
    check(version <= kSchemaVersion, "{}: results database schema {} is newer than this elab's ({}); use a newer elab",
          path, version, kSchemaVersion);
  }
  db_->exec("PRAGMA journal_mode=WAL");
  db_->exec("CREATE TABLE IF NOT EXISTS elab_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)");
  db_->exec(fmt::format("INSERT OR IGNORE INTO elab_meta VALUES ('schema_version', '{}')", kSchemaVersion));
  db_->exec("CREATE TABLE IF NOT EXISTS jobs (key TEXT PRIMARY KEY, kind TEXT, grp TEXT, parent TEXT, spec TEXT, "
            "status TEXT, error TEXT, result TEXT, seconds REAL)");
  db_->exec("CREATE TABLE IF NOT EXISTS samples (job TEXT, idx INTEGER, sample TEXT, PRIMARY KEY (job, idx))");
  db_->exec("CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, runner TEXT NOT NULL, heartbeat REAL NOT NULL)");
}

ResultStore::~ResultStore() = default;

std::optional<JobRecord> ResultStore::find(const std::string& key) {
  std::lock_guard lock(mutex_);
  SqliteStatement s(*db_, fmt::format("SELECT {} FROM jobs WHERE key = ?", kColumns));
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return read_job(s, path_);
}

std::vector<JobRecord> ResultStore::all() {
  std::lock_guard lock(mutex_);
  SqliteStatement s(*db_, fmt::format("SELECT {} FROM jobs ORDER BY rowid", kColumns));
  std::vector<JobRecord> out;
  while (s.step()) out.push_back(read_job(s, path_));
  return out;
}

void ResultStore::put(const JobRecord& r, const std::vector<nlohmann::json>& samples) {
  std::lock_guard lock(mutex_);
  const auto replace = nlohmann::json::error_handler_t::replace;
  db_->transaction([&] {
    for (const char* sql : {"DELETE FROM samples WHERE job = ?", "DELETE FROM claims WHERE key = ?"}) {
      SqliteStatement d(*db_, sql);
      d.bind(1, r.key);
      d.run("clear the samples and claim of job " + r.key);
    }
    SqliteStatement s(*db_, "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, r.key);
    s.bind(2, r.kind);
    s.bind(3, r.group);
    s.bind(4, r.parent);
    s.bind(5, to_json(r.spec).dump());
    s.bind(6, r.status);
    s.bind(7, r.error);
    s.bind(8, to_json(r.result).dump(-1, ' ', false, replace));
    s.bind(9, r.seconds);
    s.run("record job " + r.key);
    for (size_t i = 0; i < samples.size(); ++i) {
      SqliteStatement x(*db_, "INSERT INTO samples VALUES (?, ?, ?)");
      x.bind(1, r.key);
      x.bind(2, int64_t(i));
      x.bind(3, samples[i].dump(-1, ' ', false, replace));
      x.run("record the samples of job " + r.key);
    }
  });
}

std::vector<nlohmann::json> ResultStore::samples(const std::string& key) {
  std::lock_guard lock(mutex_);
  SqliteStatement s(*db_, "SELECT sample FROM samples WHERE job = ? ORDER BY idx");
  s.bind(1, key);
  std::vector<nlohmann::json> out;
  while (s.step()) out.push_back(nlohmann::json::parse(s.text(0), nullptr, false));
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

namespace {

bool recorded_done(SqliteDb& db, const std::string& key) {
  SqliteStatement s(db, "SELECT 1 FROM jobs WHERE key = ? AND status = 'done'");
  s.bind(1, key);
  return s.step();
}

// The runner holding a live claim on `key` ("" when none).
std::string live_holder(SqliteDb& db, const std::string& key, double now, double expiry) {
  SqliteStatement s(db, "SELECT runner FROM claims WHERE key = ? AND heartbeat > ?");
  s.bind(1, key);
  s.bind(2, now - expiry);
  return s.step() ? s.text(0) : "";
}

}  // namespace

bool ResultStore::claim(const std::string& key, const std::string& runner, double now, double expiry) {
  std::lock_guard lock(mutex_);
  bool mine = false;
  db_->transaction([&] {
    if (recorded_done(*db_, key)) return;
    const std::string holder = live_holder(*db_, key, now, expiry);
    if (!holder.empty() && holder != runner) return;
    SqliteStatement s(*db_, "INSERT OR REPLACE INTO claims VALUES (?, ?, ?)");
    s.bind(1, key);
    s.bind(2, runner);
    s.bind(3, now);
    s.run("claim job " + key);
    mine = true;
  });
  return mine;
}

ResultStore::Elsewhere ResultStore::elsewhere(const std::string& key, const std::string& runner, double now,
                                              double expiry) {
  std::lock_guard lock(mutex_);
  if (recorded_done(*db_, key)) return Elsewhere::done;
  const std::string holder = live_holder(*db_, key, now, expiry);
  return !holder.empty() && holder != runner ? Elsewhere::running : Elsewhere::free;
}

void ResultStore::heartbeat(const std::string& runner, double now) {
  std::lock_guard lock(mutex_);
  SqliteStatement s(*db_, "UPDATE claims SET heartbeat = ? WHERE runner = ?");
  s.bind(1, now);
  s.bind(2, runner);
  s.run("renew the claims of runner " + runner);
}

void ResultStore::release(const std::string& runner) {
  std::lock_guard lock(mutex_);
  SqliteStatement s(*db_, "DELETE FROM claims WHERE runner = ?");
  s.bind(1, runner);
  s.run("release the claims of runner " + runner);
}

}  // namespace elab
