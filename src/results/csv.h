#pragma once
// A CSV reader (RFC 4180: quoted fields with commas, doubled quotes and newlines) that
// names the file and line of every error. Torch-free.
#include <string>
#include <vector>

namespace elab {

struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;  // each row's first line in the file (1-based)
  int column(const std::string& name) const;  // -1 when absent
};

// Every row must have the header's number of fields; an Error naming file:line otherwise.
CsvTable read_csv(const std::string& path);
CsvTable parse_csv(const std::string& text, const std::string& path);

}  // namespace elab
