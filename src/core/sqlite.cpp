#include "core/sqlite.h"

#include <sqlite3.h>

#include "core/error.h"
#include "core/fs.h"

namespace elab {

SqliteDb::SqliteDb(const std::string& path, const std::string& what, bool create) : path_(path), what_(what) {
  if (create && fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
    fail("{}: cannot open the {}: {}", path, what, msg);
  }
  sqlite3_busy_timeout(db_, 10000);
}

SqliteDb::~SqliteDb() {
  if (db_) sqlite3_close(db_);
}

void SqliteDb::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    fail("{}: {} (is it an elab {}?)", path_, msg, what_);
  }
}

void SqliteDb::rollback() { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

std::string SqliteDb::error_message() const { return sqlite3_errmsg(db_); }

SqliteStatement::SqliteStatement(SqliteDb& db, const std::string& sql) : db_(db) {
  // Prepared first: the message is SQLite's error for this statement, not one read before it.
  const int rc = sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &st_, nullptr);
  check(rc == SQLITE_OK, "{}: {} (is it an elab {}?)", db.path(), db.error_message(), db.what());
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(st_); }

void SqliteStatement::bind(int i, const std::string& s) {
  sqlite3_bind_text(st_, i, s.c_str(), int(s.size()), SQLITE_TRANSIENT);
}
void SqliteStatement::bind(int i, double x) { sqlite3_bind_double(st_, i, x); }
void SqliteStatement::bind(int i, int64_t x) { sqlite3_bind_int64(st_, i, x); }
void SqliteStatement::reset() { sqlite3_reset(st_); }

bool SqliteStatement::step() {
  const int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  check(rc == SQLITE_DONE, "{}: {}", db_.path(), db_.error_message());
  return false;
}

void SqliteStatement::run(const std::string& doing) {
  const int rc = sqlite3_step(st_);
  check(rc == SQLITE_DONE || rc == SQLITE_ROW, "{}: cannot {}: {}", db_.path(), doing, db_.error_message());
}

bool sqlite_has_table(const std::string& path, const std::string& name) {
  if (!std::filesystem::exists(path)) return false;
  try {
    SqliteDb db(path, "database", false);
    SqliteStatement st(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
    st.bind(1, name);
    return st.step() && st.real(0) > 0;
  } catch (const Error& e) {
    fail("{}: not a readable SQLite database ({})", path, e.what());
  }
}

std::string SqliteStatement::text(int column) const {
  auto p = sqlite3_column_text(st_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(st_, column))) : "";
}

double SqliteStatement::real(int column) const { return sqlite3_column_double(st_, column); }

}  // namespace elab
