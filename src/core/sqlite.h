#pragma once
// The one SQLite wrapper: a database handle and prepared statements that finalise
// themselves. Every failure is an Error naming the file and what SQLite said. Used by
// the study results store and the openai backend's response cache.
#include <cstdint>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace elab {

class SqliteDb {
 public:
  // Opens (creating when `create`) the file; `what` names it in errors ("results database").
  SqliteDb(const std::string& path, const std::string& what, bool create = true);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  void exec(const std::string& sql);
  // exec("BEGIN IMMEDIATE"), `body`, then COMMIT; ROLLBACK when body throws.
  template <typename F>
  void transaction(F&& body) {
    exec("BEGIN IMMEDIATE");
    try {
      body();
      exec("COMMIT");
    } catch (...) {
      rollback();
      throw;
    }
  }
  std::string error_message() const;
  const std::string& path() const { return path_; }
  const std::string& what() const { return what_; }
  sqlite3* handle() const { return db_; }

 private:
  void rollback();
  sqlite3* db_ = nullptr;
  std::string path_, what_;
};

// True when the SQLite file at `path` exists and has a table `name` (opened read-only).
bool sqlite_has_table(const std::string& path, const std::string& name);

class SqliteStatement {
 public:
  SqliteStatement(SqliteDb& db, const std::string& sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void bind(int i, const std::string& s);
  void bind(int i, double x);
  void bind(int i, int64_t x);
  // Back to the start, bindings kept, so the statement can run again with new ones.
  void reset();
  // True while there is a row; false at the end; an Error on failure.
  bool step();
  // Runs a statement that returns no rows; an Error naming `doing` when it fails.
  void run(const std::string& doing);
  std::string text(int column) const;
  double real(int column) const;

 private:
  SqliteDb& db_;
  sqlite3_stmt* st_ = nullptr;
};

}  // namespace elab
