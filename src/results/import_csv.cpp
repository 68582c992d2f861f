// CSV tables as result rows, through a declared column mapping (a TOML file; the format
// is in docs/RESULTS.md): which column names the model and its size, tokens and step,
// and which columns hold which task x method x metric, so a published table loads
// without code written for it. Long tables (a row per result) name one value column and
// read task and shots from columns; wide tables (a row per model) match many value
// columns with a regular expression whose groups fill the fields. Every field is a
// template: "{Column}" is a cell of the row (or of the joined table, or a derived
// column), "{1}" a group of the value column's pattern, "{f1}" a group of the file
// name's pattern, "{file}" the file's stem and "{row}" the row's index.
#include <toml++/toml.h>

#include <map>
#include <optional>
#include <regex>
#include <set>

#include "core/error.h"
#include "core/fs.h"
#include "core/names.h"
#include "results/csv.h"
#include "results/importers.h"

namespace elab {

namespace {

const char* kVersion = "1";

// A derived column: a group of a regular expression over another column.
struct Derive {
  std::string name, from;
  std::regex pattern;
  std::string pattern_text;
  std::optional<std::string> otherwise;      // the value when the pattern does not match (default: the column's)
  std::map<std::string, std::string> values; // the captured text renamed ("cot" -> "chain"); others kept
};

struct ValueSpec {
  std::string where;          // "[[values]] 2" for errors
  std::string column;         // an exact column, or
  std::optional<std::regex> pattern;
  std::string pattern_text;
  std::map<std::string, std::string> fields;  // task, shots, style, format, metric, chance, n, stderr, seed
  int direction = 0;
};

struct ModelFacts {
  std::map<std::string, std::string> fields;  // family, variant, parameters, tokens, flops
};

struct Mapping {
  std::string path;
  std::set<std::string> missing = {"", "NA", "N/A", "nan", "NaN", "None", "null"};
  // Rows of one key with different values (repeated runs): an error, or their mean when
  // the mapping says so (duplicates = "mean", with its reason in a comment beside it).
  bool average_duplicates = false;
  std::optional<std::regex> file_pattern;
  std::string file_pattern_text;
  std::string join_file, join_key;
  bool join_required = true;
  std::map<std::string, std::string> model;  // name, family, variant, parameters, tokens, flops, step, seed
  std::map<std::string, double> scale;       // parameters, tokens, flops
  double tokens_per_step = NAN;              // tokens = step x this, where no tokens column is named
  std::vector<Derive> derive;
  std::vector<std::pair<std::string, std::regex>> keep;  // [keep] column = pattern: only rows matching all
  std::map<std::string, ModelFacts> models;  // by model name
  std::vector<ValueSpec> values;
};

std::regex compile(const std::string& text, const std::string& where) {
  try {
    return std::regex(text);
  } catch (const std::regex_error& e) {
    fail("{}: '{}' is not a valid regular expression ({})", where, text, e.what());
  }
}

// A TOML value as template text: strings as they are, numbers as written.
std::string as_text(const toml::node& v, const std::string& where) {
  if (auto s = v.value_exact<std::string>()) return *s;
  if (auto i = v.value_exact<int64_t>()) return std::to_string(*i);
  if (auto d = v.value_exact<double>()) return fmt::format("{}", *d);
  fail("{}: must be a string or a number", where);
}

void known(const toml::table& t, const std::string& where, const std::set<std::string>& keys) {
  for (const auto& [k, v] : t) {
    if (keys.count(std::string(k.str()))) continue;
    fail_unknown("key of " + where, std::string(k.str()), std::vector<std::string>(keys.begin(), keys.end()));
  }
}

Mapping read_mapping(const std::string& path) {
  check(!path.empty(), "import csv needs --mapping MAP.toml (docs/RESULTS.md)");
  Mapping m;
  m.path = path;
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    fail("{}:{}: {}", path, e.source().begin.line, e.description());
  }
  known(t, path, {"csv", "join", "keep", "model", "derive", "models", "values"});
  if (const auto* keep = t["keep"].as_table()) {
    for (const auto& [k, v] : *keep) {
      const auto p = v.value<std::string>();
      check(p.has_value(), "{}: [keep] {} must be a regular expression (a string)", path, k.str());
      m.keep.emplace_back(std::string(k.str()), compile(*p, path + " [keep] " + std::string(k.str())));
    }
  }
  if (const auto* csv = t["csv"].as_table()) {
    known(*csv, path + " [csv]", {"missing", "file_pattern", "duplicates"});
    const std::string dup = (*csv)["duplicates"].value_or(std::string("error"));
    check(dup == "error" || dup == "mean", "{}: [csv] duplicates must be \"error\" or \"mean\", not '{}'", path, dup);
    m.average_duplicates = dup == "mean";
    if (const auto* miss = (*csv)["missing"].as_array()) {
      m.missing.clear();
      for (const auto& x : *miss) m.missing.insert(as_text(x, path + " [csv] missing"));
    }
    if (auto p = (*csv)["file_pattern"].value<std::string>()) {
      m.file_pattern_text = *p;
      m.file_pattern = compile(*p, path + " [csv] file_pattern");
    }
  }
  if (const auto* join = t["join"].as_table()) {
    known(*join, path + " [join]", {"file", "key", "required"});
    m.join_file = (*join)["file"].value_or(std::string());
    m.join_key = (*join)["key"].value_or(std::string());
    m.join_required = (*join)["required"].value_or(true);
    check(!m.join_file.empty() && !m.join_key.empty(), "{}: [join] needs file and key", path);
  }
  const auto* model = t["model"].as_table();
  check(model != nullptr, "{}: [model] is missing: it says which column names the model (name = \"{{Model}}\")", path);
  known(*model, path + " [model]",
        {"name", "family", "variant", "parameters", "tokens", "flops", "step", "seed", "parameters_scale", "tokens_scale",
         "flops_scale", "tokens_per_step"});
  for (const auto& [k, v] : *model) {
    const std::string key(k.str());
    if (key == "tokens_per_step") {
      const auto x = v.value<double>();
      check(x && *x > 0, "{}: [model] tokens_per_step must be a positive number", path);
      m.tokens_per_step = *x;
    } else if (key.size() > 6 && key.substr(key.size() - 6) == "_scale") {
      const auto x = v.value<double>();
      check(x && *x > 0, "{}: [model] {} must be a positive number", path, key);
      m.scale[key.substr(0, key.size() - 6)] = *x;
    } else {
      m.model[key] = as_text(v, path + " [model] " + key);
    }
  }
  check(m.model.count("name"), "{}: [model] needs name (the column naming the model: name = \"{{Model}}\")", path);
  if (const auto* derive = t["derive"].as_array()) {
    int i = 0;
    for (const auto& d : *derive) {
      const std::string where = fmt::format("{} [[derive]] {}", path, ++i);
      const auto* dt = d.as_table();
      check(dt != nullptr, "{}: must be a table", where);
      known(*dt, where, {"name", "from", "pattern", "otherwise", "values"});
      Derive x;
      x.name = (*dt)["name"].value_or(std::string());
      x.from = (*dt)["from"].value_or(std::string());
      x.pattern_text = (*dt)["pattern"].value_or(std::string());
      check(!x.name.empty() && !x.from.empty() && !x.pattern_text.empty(), "{}: needs name, from and pattern", where);
      x.pattern = compile(x.pattern_text, where);
      if (auto o = (*dt)["otherwise"].value<std::string>()) x.otherwise = *o;
      if (const auto* vals = (*dt)["values"].as_table())
        for (const auto& [k, v] : *vals) x.values[std::string(k.str())] = as_text(v, where + " values");
      m.derive.push_back(std::move(x));
    }
  }
  if (const auto* models = t["models"].as_table()) {
    for (const auto& [name, v] : *models) {
      const std::string where = fmt::format("{} [models.\"{}\"]", path, name.str());
      const auto* mt = v.as_table();
      check(mt != nullptr, "{}: must be a table", where);
      known(*mt, where, {"family", "variant", "parameters", "tokens", "flops"});
      ModelFacts f;
      for (const auto& [k, x] : *mt) f.fields[std::string(k.str())] = as_text(x, where + " " + std::string(k.str()));
      m.models[std::string(name.str())] = f;
    }
  }
  const auto* values = t["values"].as_array();
  check(values != nullptr && !values->empty(), "{}: no [[values]]: name at least one column that holds results", path);
  int i = 0;
  for (const auto& v : *values) {
    ValueSpec s;
    s.where = fmt::format("{} [[values]] {}", path, ++i);
    const auto* vt = v.as_table();
    check(vt != nullptr, "{}: must be a table", s.where);
    known(*vt, s.where,
          {"column", "pattern", "task", "shots", "style", "format", "metric", "direction", "chance", "n", "stderr", "seed"});
    s.column = (*vt)["column"].value_or(std::string());
    s.pattern_text = (*vt)["pattern"].value_or(std::string());
    check(s.column.empty() != s.pattern_text.empty(), "{}: give either column (one column) or pattern (a regular "
          "expression over the header)", s.where);
    if (!s.pattern_text.empty()) s.pattern = compile(s.pattern_text, s.where + " pattern");
    for (const auto& [k, x] : *vt) {
      const std::string key(k.str());
      if (key == "column" || key == "pattern" || key == "direction") continue;
      s.fields[key] = as_text(x, s.where + " " + key);
    }
    check(s.fields.count("task"), "{}: needs task (a name, or \"{{column}}\")", s.where);
    check(s.fields.count("metric"), "{}: needs metric (its name)", s.where);
    const auto dir = (*vt)["direction"].value<std::string>();
    check(dir.has_value(), "{}: metric {} has no direction: say direction = \"higher\" or \"lower\" (which is better)",
          s.where, s.fields["metric"]);
    check(*dir == "higher" || *dir == "lower", "{}: direction must be \"higher\" or \"lower\", not '{}'", s.where, *dir);
    s.direction = *dir == "higher" ? 1 : -1;
    m.values.push_back(std::move(s));
  }
  return m;
}

// What a template can refer to, for one row of one file.
struct Context {
  const CsvTable* table = nullptr;
  const std::vector<std::string>* row = nullptr;
  const CsvTable* joined = nullptr;
  const std::vector<std::string>* joined_row = nullptr;
  std::map<std::string, std::string> derived;
  std::smatch file_groups, value_groups;
  std::string file_stem;
  size_t row_index = 0;
};

// The names a template refers to ("{Model Size (B)}" -> "Model Size (B)").
std::vector<std::string> references(const std::string& tmpl) {
  std::vector<std::string> out;
  for (size_t i = tmpl.find('{'); i != std::string::npos; i = tmpl.find('{', i + 1)) {
    const size_t j = tmpl.find('}', i);
    if (j == std::string::npos) break;
    out.push_back(tmpl.substr(i + 1, j - i - 1));
  }
  return out;
}

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

std::string lookup(const Context& c, const std::string& name) {
  if (all_digits(name)) return c.value_groups[std::stoul(name)].str();
  if (name.size() > 1 && name[0] == 'f' && all_digits(name.substr(1))) return c.file_groups[std::stoul(name.substr(1))].str();
  if (name == "file") return c.file_stem;
  if (name == "row") return std::to_string(c.row_index);
  if (auto it = c.derived.find(name); it != c.derived.end()) return it->second;
  if (int k = c.table->column(name); k >= 0) return (*c.row)[size_t(k)];
  if (c.joined) {
    if (int k = c.joined->column(name); k >= 0) return c.joined_row ? (*c.joined_row)[size_t(k)] : "";
  }
  return "";  // checked beforehand: never reached for an unknown name
}

std::string expand(const Context& c, const std::string& tmpl) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    const size_t open = tmpl.find('{', i);
    if (open == std::string::npos) break;
    const size_t close = tmpl.find('}', open);
    if (close == std::string::npos) break;
    out += tmpl.substr(i, open - i);
    out += lookup(c, tmpl.substr(open + 1, close - open - 1));
    i = close + 1;
  }
  return out + tmpl.substr(i);
}

// Every name a template refers to must exist: a column of the file or of the joined
// table, a derived column, or a group the patterns have.
void check_references(const Mapping& m, const CsvTable& t, const CsvTable* joined, const std::string& tmpl,
                      const std::string& where, size_t value_groups) {
  for (const auto& name : references(tmpl)) {
    if (all_digits(name)) {
      check(std::stoul(name) <= value_groups, "{}: '{{{}}}' refers to group {} of the value pattern, which has {}", where,
            name, name, value_groups);
      continue;
    }
    if (name.size() > 1 && name[0] == 'f' && all_digits(name.substr(1))) {
      check(m.file_pattern.has_value() && std::stoul(name.substr(1)) <= m.file_pattern->mark_count(),
            "{}: '{{{}}}' refers to a group of [csv] file_pattern, which has {}", where, name,
            m.file_pattern ? m.file_pattern->mark_count() : 0);
      continue;
    }
    if (name == "file" || name == "row" || t.column(name) >= 0 || (joined && joined->column(name) >= 0)) continue;
    bool derived = false;
    for (const auto& d : m.derive) derived |= d.name == name;
    if (derived) continue;
    std::vector<std::string> valid = t.header;
    if (joined) valid.insert(valid.end(), joined->header.begin(), joined->header.end());
    fail("{}: names column '{}', which {} does not have{}", where, name, t.path,
         joined ? fmt::format(" (nor the joined {})", joined->path) : "");
  }
}

double number(const std::string& text, const std::string& where) {
  if (auto x = parse_number(text)) return *x;
  const double s = parse_size(text);
  check(std::isfinite(s), "{}: '{}' is not a number", where, text);
  return s;
}

std::vector<ResultRow> read_table(const Mapping& m, const std::string& path, const std::string& source) {
  const CsvTable t = read_csv(path);
  Context c;
  c.table = &t;
  c.file_stem = fs::path(path).stem().string();
  const std::string filename = fs::path(path).filename().string();
  if (m.file_pattern) {
    check(std::regex_search(filename, c.file_groups, *m.file_pattern), "{}: the file name does not match [csv] "
          "file_pattern '{}' of {}", path, m.file_pattern_text, m.path);
  }
  // The joined table, keyed by its key column.
  std::optional<CsvTable> joined;
  std::map<std::string, size_t> join_index;
  if (!m.join_file.empty()) {
    const fs::path jp = fs::path(path).parent_path() / m.join_file;
    joined = read_csv(jp.string());
    const int k = joined->column(m.join_key);
    check(k >= 0, "{}: [join] key '{}' is not a column of {}", m.path, m.join_key, jp.string());
    check(t.column(m.join_key) >= 0, "{}: [join] key '{}' is not a column of {}", m.path, m.join_key, path);
    for (size_t i = 0; i < joined->rows.size(); ++i) join_index.emplace(joined->rows[i][size_t(k)], i);
    c.joined = &*joined;
  }
  for (const auto& d : m.derive)
    check(t.column(d.from) >= 0, "{} [[derive]] {}: from = '{}' is not a column of {}", m.path, d.name, d.from, path);
  for (const auto& [col, re] : m.keep)
    check(t.column(col) >= 0, "{} [keep]: '{}' is not a column of {}", m.path, col, path);
  // Which columns hold values, and the groups their patterns captured.
  struct ValueColumn {
    const ValueSpec* spec;
    size_t column;
    std::smatch groups;
    std::string header;  // the smatch points into it
  };
  std::vector<std::unique_ptr<ValueColumn>> columns;
  for (const auto& s : m.values) {
    size_t matched = 0;
    for (size_t k = 0; k < t.header.size(); ++k) {
      auto vc = std::make_unique<ValueColumn>();
      vc->spec = &s;
      vc->column = k;
      vc->header = t.header[k];
      const bool ok = s.pattern ? std::regex_match(vc->header, vc->groups, *s.pattern) : vc->header == s.column;
      if (!ok) continue;
      columns.push_back(std::move(vc));
      ++matched;
    }
    check(matched > 0, "{}: {} matches no column of {}", s.where,
          s.pattern ? "pattern '" + s.pattern_text + "'" : "column '" + s.column + "'", path);
    const size_t groups = s.pattern ? s.pattern->mark_count() : 0;
    for (const auto& [k, tmpl] : s.fields) check_references(m, t, c.joined, tmpl, s.where + " " + k, groups);
  }
  for (const auto& [k, tmpl] : m.model) check_references(m, t, c.joined, tmpl, m.path + " [model] " + k, 0);

  std::vector<ResultRow> rows;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    const std::string at = fmt::format("{}:{}", path, t.lines[i]);
    bool kept = true;
    for (const auto& [col, re] : m.keep) kept = kept && std::regex_search(row[size_t(t.column(col))], re);
    if (!kept) continue;
    c.row = &row;
    c.row_index = i;
    c.joined_row = nullptr;
    if (joined) {
      const auto it = join_index.find(row[size_t(t.column(m.join_key))]);
      check(it != join_index.end() || !m.join_required, "{}: {} '{}' is not in the joined {} ([join] required = false "
            "keeps such rows without its columns)", at, m.join_key, row[size_t(t.column(m.join_key))], joined->path);
      if (it != join_index.end()) c.joined_row = &joined->rows[it->second];
    }
    c.derived.clear();
    for (const auto& d : m.derive) {
      std::smatch g;
      const std::string& from = row[size_t(t.column(d.from))];
      // The first group that matched (patterns with alternatives), else the whole match.
      std::string v = d.otherwise.value_or(from);
      if (std::regex_search(from, g, d.pattern)) {
        v = g[0].str();
        for (size_t k = 1; k < g.size(); ++k)
          if (g[k].matched) {
            v = g[k].str();
            break;
          }
      }
      if (auto it = d.values.find(v); it != d.values.end()) v = it->second;
      c.derived[d.name] = v;
    }
    // The model: the mapping's templates, then the facts [models."name"] gives.
    RowModel model;
    model.name = expand(c, m.model.at("name"));
    check(!model.name.empty(), "{}: the model name is empty", at);
    std::map<std::string, std::string> facts;
    for (const auto& [k, tmpl] : m.model) facts[k] = expand(c, tmpl);
    if (auto it = m.models.find(model.name); it != m.models.end())
      for (const auto& [k, v] : it->second.fields) facts[k] = v;
    auto fact_number = [&](const std::string& key) -> double {
      if (!facts.count(key) || m.missing.count(facts[key])) return NAN;
      const double scale = m.scale.count(key) ? m.scale.at(key) : 1.0;
      return number(facts[key], at + " model " + key) * scale;
    };
    model.family = facts.count("family") && !facts["family"].empty() ? facts["family"] : family_from_name(model.name);
    model.variant = facts.count("variant") && !facts["variant"].empty() ? facts["variant"] : variant_from_name(model.name);
    model.parameters = fact_number("parameters");
    if (!std::isfinite(model.parameters)) model.parameters = parameters_from_name(model.name);
    model.tokens = fact_number("tokens");
    model.flops = fact_number("flops");
    if (const double s = fact_number("step"); std::isfinite(s)) model.step = int64_t(s);
    if (!std::isfinite(model.tokens) && std::isfinite(m.tokens_per_step) && model.step >= 0)
      model.tokens = m.tokens_per_step * double(model.step);
    const double model_seed = fact_number("seed");
    for (const auto& vc : columns) {
      const std::string& cell = row[vc->column];
      if (m.missing.count(cell)) continue;
      c.value_groups = vc->groups;
      const ValueSpec& s = *vc->spec;
      auto field = [&](const std::string& k) { return s.fields.count(k) ? expand(c, s.fields.at(k)) : std::string(); };
      ResultRow r;
      r.source = source + ":" + std::to_string(t.lines[i]);
      r.model = model;
      r.task = field("task");
      check(!r.task.empty(), "{}: column {}: the task is empty", at, vc->header);
      const std::string shots = field("shots");
      r.method.shots = shots.empty() || m.missing.count(shots) ? -1 : int64_t(number(shots, at + " shots"));
      if (const std::string st = field("style"); !st.empty()) r.method.style = st;
      r.method.format = field("format");
      r.metric.name = field("metric");
      r.metric.direction = s.direction;
      if (const std::string ch = field("chance"); !ch.empty() && !m.missing.count(ch))
        r.metric.chance = number(ch, at + " chance");
      r.value = number(cell, at + " column " + vc->header);
      if (const std::string se = field("stderr"); !se.empty() && !m.missing.count(se)) r.stderr_ = number(se, at + " stderr");
      if (const std::string n = field("n"); !n.empty() && !m.missing.count(n)) r.n = int64_t(number(n, at + " n"));
      const std::string seed = field("seed");
      r.seed = !seed.empty() && !m.missing.count(seed) ? int64_t(number(seed, at + " seed"))
             : std::isfinite(model_seed) ? int64_t(model_seed) : -1;
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

std::vector<ResultRow> read_csv_results(const ImportRequest& req) {
  const Mapping m = read_mapping(req.mapping);
  std::vector<ResultRow> rows;
  // In a folder, the tables the mapping names (its file pattern), not the joined one.
  auto table = [&](const std::string& file) {
    const std::string name = fs::path(file).filename().string();
    return fs::path(file).extension() == ".csv" && name != m.join_file &&
           (!m.file_pattern || std::regex_search(name, *m.file_pattern));
  };
  for (const auto& root : req.paths) {
    for (const fs::path f : input_files(root, false, table, m.file_pattern ? ".csv (matching [csv] file_pattern)" : ".csv")) {
      // The source names the folder too: several tables share a file name.
      auto part = read_table(m, f.string(), (f.parent_path().filename() / f.filename()).string());
      rows.insert(rows.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
  }
  if (m.average_duplicates) {
    std::map<std::string, size_t> first;
    std::vector<ResultRow> merged;
    std::vector<int> count;
    for (auto& r : rows) {
      auto [it, fresh] = first.emplace(r.key(), merged.size());
      if (fresh) {
        merged.push_back(std::move(r));
        count.push_back(1);
      } else {
        ResultRow& into = merged[it->second];
        const int k = ++count[it->second];
        into.value += (r.value - into.value) / k;
        into.stderr_ = NAN;  // several runs: their error is no longer the source's
        into.source += "+" + r.source.substr(r.source.rfind(':') + 1);
      }
    }
    return merged;
  }
  return rows;
}

}  // namespace

Importer csv_importer() {
  return {"csv", kVersion,
          "CSV tables through a declared column mapping (--mapping MAP.toml: which column is the model, its size, tokens "
          "and step, which columns are which task x method x metric; docs/RESULTS.md)",
          read_csv_results};
}

}  // namespace elab
