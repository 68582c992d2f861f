#pragma once
// File helpers that never leave a half-written file behind: everything is written to a
// temporary sibling, flushed, then renamed over the target.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace elab {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path);  // throws Error naming the path
void write_file_atomic(const fs::path& path, std::string_view bytes);
// A line of a text file with its 1-based number (for errors that name file:line).
struct TextLine {
  int line = 0;
  std::string text;
};
// The non-blank lines of a file (JSONL and logs), with their line numbers; an Error
// naming the file when it cannot be opened.
std::vector<TextLine> read_lines(const std::string& path);

// write_file_atomic, except that "-" writes to standard output.
void write_output(const std::string& path, std::string_view text);

// A temporary directory beside `target` (same filesystem, so it can be renamed onto it).
fs::path staging_dir_for(const fs::path& target);

// Puts the fully written directory `staged` in place of `target` in one atomic step
// (Linux renameat2 RENAME_EXCHANGE), then removes the old contents. A reader sees either
// the old directory or the new one, never a mix.
void replace_dir_atomic(const fs::path& staged, const fs::path& target);

}  // namespace elab
