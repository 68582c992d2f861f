#include "results/csv.h"

#include "core/error.h"
#include "core/fs.h"

namespace elab {

int CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return int(i);
  return -1;
}

CsvTable parse_csv(const std::string& text, const std::string& path) {
  CsvTable t;
  t.path = path;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false;
  int line = 1, record_line = 1;
  auto end_record = [&] {
    record.push_back(field);
    field.clear();
    field_started = false;
    const bool blank = record.size() == 1 && record[0].empty();
    if (!blank) {
      if (t.header.empty()) {
        t.header = record;
      } else {
        check(record.size() == t.header.size(), "{}:{}: {} fields, but the header has {}", path, record_line, record.size(),
              t.header.size());
        t.rows.push_back(record);
        t.lines.push_back(record_line);
      }
    }
    record.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      record.push_back(field);
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      record_line = ++line;
    } else {
      check(!(c == '"'), "{}:{}: a quote inside an unquoted field", path, line);
      field += c;
      field_started = true;
    }
  }
  check(!quoted, "{}:{}: a quoted field is not closed before the end of the file", path, record_line);
  if (field_started || !record.empty()) end_record();
  check(!t.header.empty(), "{}: empty file (no header line)", path);
  return t;
}

CsvTable read_csv(const std::string& path) { return parse_csv(read_file(path), path); }

}  // namespace elab
