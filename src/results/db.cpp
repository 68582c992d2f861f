#include "results/db.h"

#include <nlohmann/json.hpp>

#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "core/sqlite.h"

namespace elab {

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS result_rows (
  key TEXT PRIMARY KEY,
  row TEXT NOT NULL,
  value REAL,
  source TEXT NOT NULL,
  origin TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS result_rows_origin ON result_rows (origin);)";

// The file a row came from: its source without a trailing ":LINE".
std::string origin_of(const std::string& source) {
  const size_t colon = source.rfind(':');
  if (colon == std::string::npos || colon + 1 == source.size()) return source;
  return source.find_first_not_of("0123456789", colon + 1) == std::string::npos ? source.substr(0, colon) : source;
}

nlohmann::json nan_as_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }
double null_as_nan(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : NAN; }

// A row as JSON: the one place the database's row text is written and read.
std::string row_json(const ResultRow& r) {
  nlohmann::ordered_json j = {
      {"source", r.source},
      {"model", {{"name", r.model.name}, {"family", r.model.family}, {"variant", r.model.variant},
                 {"parameters", nan_as_null(r.model.parameters)}, {"tokens", nan_as_null(r.model.tokens)},
                 {"flops", nan_as_null(r.model.flops)}, {"step", r.model.step}}},
      {"task", r.task},
      {"method", {{"shots", r.method.shots}, {"style", r.method.style}, {"format", r.method.format}}},
      {"metric", {{"name", r.metric.name}, {"direction", r.metric.direction}, {"chance", nan_as_null(r.metric.chance)}}},
      {"value", nan_as_null(r.value)},
      {"stderr", nan_as_null(r.stderr_)},
      {"n", r.n},
      {"items", r.items},
      {"seed", r.seed}};
  return j.dump();
}

ResultRow row_from_json(const std::string& text, const std::string& where) {
  try {
    const auto j = nlohmann::json::parse(text);
    ResultRow r;
    r.source = j.at("source").get<std::string>();
    const auto& m = j.at("model");
    r.model.name = m.at("name").get<std::string>();
    r.model.family = m.at("family").get<std::string>();
    r.model.variant = m.at("variant").get<std::string>();
    r.model.parameters = null_as_nan(m.at("parameters"));
    r.model.tokens = null_as_nan(m.at("tokens"));
    r.model.flops = null_as_nan(m.at("flops"));
    r.model.step = m.at("step").get<int64_t>();
    r.task = j.at("task").get<std::string>();
    r.method.shots = j.at("method").at("shots").get<int64_t>();
    r.method.style = j.at("method").at("style").get<std::string>();
    r.method.format = j.at("method").at("format").get<std::string>();
    r.metric.name = j.at("metric").at("name").get<std::string>();
    r.metric.direction = j.at("metric").at("direction").get<int>();
    r.metric.chance = null_as_nan(j.at("metric").at("chance"));
    r.value = null_as_nan(j.at("value"));
    r.stderr_ = null_as_nan(j.at("stderr"));
    r.n = j.at("n").get<int64_t>();
    r.items = j.at("items").get<std::vector<double>>();
    r.seed = j.at("seed").get<int64_t>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    fail("{}: a result row is malformed ({})", where, e.what());
  }
}

bool same_value(double a, double b) { return (std::isnan(a) && std::isnan(b)) || std::abs(a - b) <= 1e-12 * (1 + std::abs(a)); }

}  // namespace

ImportSummary add_result_rows(const std::string& path, const std::vector<ResultRow>& rows, const std::string& what) {
  if (const auto parent = fs::path(path).parent_path(); !parent.empty()) fs::create_directories(parent);
  SqliteDb db(path, "results database");
  db.exec(kSchema);
  ImportSummary summary;
  db.transaction([&] {
    // A file imported again replaces what it gave before (a changed mapping, a newer file).
    std::set<std::string> origins;
    for (const auto& r : rows) origins.insert(origin_of(r.source));
    SqliteStatement forget(db, "DELETE FROM result_rows WHERE origin = ?");
    for (const auto& o : origins) {
      forget.reset();
      forget.bind(1, o);
      forget.run("replacing the rows of " + o);
    }
    SqliteStatement find(db, "SELECT value, source FROM result_rows WHERE key = ?");
    SqliteStatement insert(db, "INSERT INTO result_rows (key, row, value, source, origin) VALUES (?, ?, ?, ?, ?)");
    for (const auto& r : rows) {
      const std::string key = r.key();
      find.reset();
      find.bind(1, key);
      if (find.step()) {
        const double old = find.text(0).empty() ? NAN : find.real(0);
        const std::string old_source = find.text(1);  // the key is unique: one row at most
        check(same_value(old, r.value),
              "{}: {} has value {} here and {} already in {} (from {}): two sources disagree on one result; nothing "
              "was imported", what, key, r.value, old, path, old_source);
        summary.unchanged += 1;
        continue;
      }
      insert.reset();
      insert.bind(1, key);
      insert.bind(2, row_json(r));
      insert.bind(3, r.value);
      insert.bind(4, r.source);
      insert.bind(5, origin_of(r.source));
      insert.run("adding a result row");
      summary.added += 1;
    }
  });
  return summary;
}

bool has_result_rows(const std::string& path) { return sqlite_has_table(path, "result_rows"); }

std::vector<ResultRow> read_result_rows(const std::string& path) {
  std::vector<ResultRow> rows;
  if (!has_result_rows(path)) return rows;
  SqliteDb db(path, "results database", false);
  SqliteStatement st(db, "SELECT row, key FROM result_rows ORDER BY rowid");
  while (st.step()) rows.push_back(row_from_json(st.text(0), path + " row " + st.text(1)));
  return rows;
}

}  // namespace elab
